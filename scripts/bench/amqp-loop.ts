/**
 * The baseline a user would build instead of the worker (issue 15): one amqplib consumer that
 * takes `send_message` commands from a queue, calls Baileys' `sendMessage` and publishes a
 * `message_sent` event on a confirm channel, acking the command only once that event is
 * confirmed — the same no-loss rule the worker keeps, without anything else the worker does
 * (no routing hop, no validation, no outbox journal, no storage, no receipts turned into events).
 *
 * Not a strawman: prefetch as the worker's default, TCP_NODELAY as the worker sets it, sends
 * kept in queue order (one chain: WhatsApp users expect a conversation in order, and Baileys'
 * Signal session is per chat) while the confirm and the ack of one message overlap the next
 * send, as the worker's lane does.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { WASocket } from '@whiskeysockets/baileys';

export interface AmqpSendLoopOptions {
  url: string;
  /** The loop's command queue (declared by the caller like a worker's command queue). */
  queue: string;
  /** The events exchange; events go out as `message.<action>`, like the worker's. */
  exchange: string;
  prefetch: number;
  sock: WASocket;
}

interface LoopCommand {
  requestId: string;
  sessionId: unknown;
  data: { to: string; text: string };
}

export class AmqpSendLoop {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly conn: ChannelModel,
    private readonly consumeChannel: Channel,
    private readonly publishChannel: ConfirmChannel,
    private readonly opts: AmqpSendLoopOptions,
  ) {}

  static async start(opts: AmqpSendLoopOptions): Promise<AmqpSendLoop> {
    const conn = await amqp.connect(opts.url, { noDelay: true });
    const consumeChannel = await conn.createChannel();
    const publishChannel = await conn.createConfirmChannel();
    await consumeChannel.prefetch(opts.prefetch);
    const loop = new AmqpSendLoop(conn, consumeChannel, publishChannel, opts);
    await consumeChannel.consume(opts.queue, (msg) => {
      if (msg) loop.chain = loop.chain.then(() => loop.handle(msg));
    });
    return loop;
  }

  private async handle(msg: ConsumeMessage): Promise<void> {
    let cmd: LoopCommand;
    try {
      cmd = JSON.parse(msg.content.toString('utf8')) as LoopCommand;
    } catch {
      this.consumeChannel.nack(msg, false, false);
      return;
    }
    const jid = `${cmd.data.to.replace(/^\+/, '')}@s.whatsapp.net`;
    let event: Record<string, unknown>;
    try {
      const sent = await this.opts.sock.sendMessage(jid, { text: cmd.data.text });
      event = { action: 'message_sent', requestId: cmd.requestId, sessionId: cmd.sessionId, messageId: sent?.key.id, to: cmd.data.to, sentAt: Date.now() };
    } catch (err) {
      event = { action: 'message_failed', requestId: cmd.requestId, sessionId: cmd.sessionId, reason: err instanceof Error ? err.message : String(err) };
    }
    // Not awaited: the next send starts while this event waits for its confirm; the ack follows the confirm.
    this.publishChannel.publish(
      this.opts.exchange,
      `message.${String(event.action)}`,
      Buffer.from(JSON.stringify(event)),
      { persistent: true, contentType: 'application/json' },
      (err) => (err ? this.consumeChannel.nack(msg, false, true) : this.consumeChannel.ack(msg)),
    );
  }

  async stop(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.publishChannel.waitForConfirms().catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}
