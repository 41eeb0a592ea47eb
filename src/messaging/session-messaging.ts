import type { Logger } from 'pino';
import type {
  CheckNumbersCommand,
  DeleteMessageCommand,
  EditMessageCommand,
  MarkReadCommand,
  SendMessageCommand,
  SendPresenceCommand,
} from '../commands/command.js';
import type { Events, MessageSubject } from '../events/event-publisher.js';
import { describeError, isWorkerError } from '../util/errors.js';
import type { HistoryChunk, IncomingMessage, IncomingUpdate, MessageReceipt, WhatsAppConnection } from '../whatsapp/types.js';
import { Lru } from './lru.js';
import type { MediaStore } from '../storage/media-store.js';
import type { MessageCounters } from './message-counters.js';
import { MEDIA_URL_UNAVAILABLE, outgoingContent, SendFailure } from './outgoing-content.js';
import type { AddressPolicy } from '../util/address-policy.js';
import type { MessageHistory } from './message-history.js';
import { deriveMessageId } from './message-id.js';
import { isPhoneJid, recipientJid } from '../commands/recipient.js';
import { answerCommand, type CommandFailure } from './answer-command.js';
import { randomBytes } from 'node:crypto';
import { SentPolls } from './sent-polls.js';
import type { PollArchive } from './poll-archive.js';
import { summaryText } from './message-summary.js';
import { MessageChanges } from './message-changes.js';
import { IncomingUpdates } from './incoming-updates.js';
import type { MessagingHost } from './messaging-host.js';
import { publishHistoryChunk } from './history-sync.js';
import { ReadReceipts } from './read-receipts.js';
import { IncomingMessages } from './incoming-messages.js';
import type { UnreadLedgerLimits } from './unread-ledger.js';
import type { SpanHandle, Telemetry, TraceRef } from '../telemetry/types.js';

export interface MessagingDeps {
  /** Where received media go and `mediaKey` sends come from; without one, media are not stored. */
  media?: MediaStore | undefined;
  history?: MessageHistory | undefined;
  /** Where sent polls are kept across restarts (their secrets read the votes); without one, in memory only. */
  polls?: PollArchive | undefined;
  /** How long a send waits for a (re)connecting session to open. */
  sendWaitForOpenMs: number;
  mediaMaxBytes: number;
  /** Where sent and received messages are counted (the worker's one `MessageCounters`; heartbeats read it). */
  counters?: Pick<MessageCounters, 'countSent' | 'countReceived'> | undefined;
  /** The WhatsApp send's span and duration, incoming messages' root spans, acks continuing their send's trace; default: none. */
  telemetry?: Telemetry | undefined;
  /** How long a send waits for a `url` media file to answer / to send more bytes (default 30 s). */
  mediaFetchTimeoutMs?: number;
  /** How long a `url` media file may take in all, body included (MEDIA_FETCH_DEADLINE_MS; default 120 s). */
  mediaFetchDeadlineMs?: number;
  /** Private hosts/CIDRs a `url` may reach (MEDIA_FETCH_ALLOWED_HOSTS); default: public addresses only. */
  mediaFetchAllowedHosts?: AddressPolicy | readonly string[];
  /** First pause before downloading a received file again after a storage/network failure (default 500 ms). */
  mediaRetryBaseMs?: number;
  /** Per-session memory: recently sent requestIds, received ids (each bounded). */
  recentCapacity?: number;
  /** History after linking: chats/contacts per event, and message events awaiting their confirm at once (HISTORY_EVENT_BATCH; default 200). */
  historyEventBatch?: number;
  /** Received messages remembered unread, for `mark_read` `upTo`: per chat (default 1000) and in all (default 10,000). */
  unreadLimits?: UnreadLedgerLimits;
}

export type { MessagingHost } from './messaging-host.js';

interface SentRecord {
  messageId: string;
  to: string;
  toJid: string;
  type: SendMessageCommand['message']['type'];
  sentAt: number;
}

/**
 * A session's messages: sends (idempotent per requestId), incoming messages and receipts
 * turned into events, media into the media store, everything into the history. Incoming
 * messages and receipts are handled one at a time on their own chain, each event confirmed by
 * the broker before the next: so a broker outage holds them back (in order) without stalling
 * the session's lifecycle. An incoming message is acknowledged to WhatsApp only once its event
 * is confirmed (at least once from WhatsApp to the backend).
 */
export class SessionMessaging {
  /** requestId → what was sent: a redelivered command re-publishes message_sent instead of sending. */
  private readonly sent: Lru<string, SentRecord>;
  /** Messages already published as message_received, by chat and id (WhatsApp may deliver one twice). */
  private readonly seen: Lru<string, true>;
  /** Status events already published (`id|status|participant`). */
  private readonly statuses: Lru<string, true>;
  /** messageId → the trace of its send (telemetry on): WhatsApp's acks continue it. */
  private readonly sendTraces: Lru<string, TraceRef>;
  /** Recent messages (sent and received) by id, to quote them in replies. */
  private readonly known: Lru<string, { fromMe: boolean; participant?: string; text?: string }>;
  /** Phone JIDs known to be on WhatsApp. */
  private readonly registered: Lru<string, true>;
  /** Sends between WhatsApp taking them and message_sent being queued: their receipts wait. */
  private readonly sending = new Map<string, Promise<void>>();
  /** Polls this session sent: their secrets decrypt the votes (sent-polls.ts). */
  private readonly polls: SentPolls;
  private inbound: Promise<void> = Promise.resolve();
  /** edit_message and delete_message. */
  private readonly changes: MessageChanges;
  /** Reactions, edits and revokes from others. */
  private readonly updates: IncomingUpdates;
  /** mark_read, and the received messages not yet read. */
  private readonly reads: ReadReceipts;
  /** message_received and poll_vote (incoming-messages.ts). */
  private readonly incoming: IncomingMessages;

  constructor(
    private readonly host: MessagingHost,
    private readonly events: Events,
    private readonly deps: MessagingDeps,
    private readonly log: Logger,
  ) {
    const n = deps.recentCapacity ?? 5000;
    this.sent = new Lru(n);
    this.seen = new Lru(n);
    this.statuses = new Lru(n);
    this.sendTraces = new Lru(n);
    this.known = new Lru(n);
    this.registered = new Lru(1000);
    this.polls = new SentPolls(host.id, deps.polls);
    const { sendWaitForOpenMs, history } = deps;
    this.changes = new MessageChanges({ host, events, sendWaitForOpenMs, log, history, capacity: n });
    this.updates = new IncomingUpdates({ host, events, log, history, capacity: n });
    this.reads = new ReadReceipts({ host, events, sendWaitForOpenMs, log, capacity: n, unread: deps.unreadLimits ?? { perChat: 1000, total: 10_000 } });
    const { seen, known, changes, reads, polls } = this;
    this.incoming = new IncomingMessages({ host, events, deps, log, seen, known, changes, reads, polls });
  }

  // ---- sending ----------------------------------------------------------------------------

  /**
   * Sends once per requestId. Resolves when the outcome is published: message_sent, or
   * message_failed for a send that cannot succeed. Rejects only for infrastructure failures
   * (broker, storage), so the command is retried.
   */
  /**
   * `defer`, when given, receives the broker confirm of `message_sent` instead of this call
   * awaiting it: the caller holds the session's command lane only for the WhatsApp send itself
   * (so sends stay ordered without each one waiting for the previous event's confirm), and
   * still acks the command only once the event is confirmed.
   */
  send(cmd: SendMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const telemetry = this.deps.telemetry;
    if (!telemetry?.enabled) return this.sendOnce(cmd, defer);
    // Ids only: never the recipient's number or the text.
    const attributes = { 'wa.action': 'send_message', 'wa.number_id': this.host.numberId, 'wa.request_id': cmd.requestId, 'wa.message_type': cmd.message.type };
    return telemetry.span('whatsapp send', attributes, (span) => this.sendOnce(cmd, defer, span), { kind: 'client' });
  }

  private async sendOnce(cmd: SendMessageCommand, defer?: (confirmed: Promise<unknown>) => void, span?: SpanHandle): Promise<void> {
    const subject = { numberId: this.host.numberId, sessionId: this.host.id, requestId: cmd.requestId };
    const already = this.sent.get(cmd.requestId);
    if (already) {
      this.log.info({ requestId: cmd.requestId, messageId: already.messageId }, 'send_message already done: re-publishing message_sent');
      await this.events.message('message_sent', subject, already);
      return;
    }
    const messageId = deriveMessageId(this.host.id, cmd.requestId);
    let sent: SentRecord;
    let release: () => void = () => undefined;
    try {
      const conn = await this.host.connectionForSend(this.deps.sendWaitForOpenMs).catch((err) => {
        throw isWorkerError(err) ? new SendFailure(err.code, err.message) : err;
      });
      await this.checkRecipient(conn, cmd.toJid);
      const pollSecret = cmd.message.type === 'poll' ? await this.polls.secretFor(messageId, cmd.message.options) : undefined;
      const content = await outgoingContent(cmd.message, this.deps, this.host.id, {
        pollSecret: () => pollSecret ?? randomBytes(32),
        known: (id) => this.known.get(id),
      });
      this.sending.set(messageId, new Promise<void>((resolve) => (release = resolve)));
      const quoted = cmd.replyTo ? { id: cmd.replyTo, fromMe: false, ...this.known.get(cmd.replyTo) } : undefined;
      const options = { messageId, ...(quoted ? { quoted } : {}), ...(cmd.mentions?.length ? { mentions: cmd.mentions } : {}) };
      const sendStarted = performance.now();
      const result = await conn.sendMessage(cmd.toJid, content, options).catch((err) => {
        if (isWorkerError(err) && err.code === 'MEDIA_TOO_LARGE') throw new SendFailure(err.code, err.message);
        // A `url` file failing while it streams: the same one reason as a fetch that fails at once.
        if (isWorkerError(err) && err.code === 'MEDIA_UNAVAILABLE') throw new SendFailure(err.code, MEDIA_URL_UNAVAILABLE, describeError(err.cause ?? err));
        throw new SendFailure('SEND_FAILED', `WhatsApp did not take the message: ${describeError(err)}`);
      });
      sent = { messageId: result.messageId, to: cmd.to, toJid: cmd.toJid, type: cmd.message.type, sentAt: result.sentAt };
      this.deps.telemetry?.metrics.duration('send', (performance.now() - sendStarted) / 1000, { type: cmd.message.type });
    } catch (err) {
      release();
      this.sending.delete(messageId);
      if (!(err instanceof SendFailure)) throw err;
      this.log.warn({ requestId: cmd.requestId, code: err.code, reason: err.message, ...(err.detail ? { detail: err.detail } : {}) }, 'message not sent');
      span?.setAttributes({ 'wa.message_id': messageId, 'error.type': err.code });
      await this.events.message('message_failed', subject, { messageId, to: cmd.to, code: err.code, reason: err.message });
      return;
    }
    this.sent.set(cmd.requestId, sent);
    span?.setAttributes({ 'wa.message_id': sent.messageId });
    const trace = this.deps.telemetry?.current();
    if (trace) this.sendTraces.set(sent.messageId, trace);
    const text = summaryText(cmd.message);
    this.known.set(sent.messageId, { fromMe: true, ...(text ? { text } : {}) });
    this.changes.remember(sent.messageId, { fromMe: true, type: sent.type, at: sent.sentAt });
    this.deps.counters?.countSent();
    const published = this.events.message('message_sent', subject, sent);
    release();
    this.sending.delete(messageId);
    this.deps.history?.append(this.host.id, {
      direction: 'out',
      messageId: sent.messageId,
      at: sent.sentAt,
      chat: sent.toJid,
      type: sent.type,
      requestId: cmd.requestId,
      ...(text ? { text } : {}),
      ...('media' in cmd.message && cmd.message.media.kind === 'mediaKey' ? { mediaKey: cmd.message.media.key } : {}),
      ...(cmd.replyTo ? { replyTo: cmd.replyTo } : {}),
    });
    if (defer) defer(published);
    else await published;
  }

  /**
   * `check_numbers`: one WhatsApp query for the whole batch, answered with numbers_checked (the
   * phones in the order asked). Nothing is remembered: a redelivered command asks again and
   * answers again. Failures are answered with numbers_check_failed (see `answer`).
   */
  checkNumbers(cmd: CheckNumbersCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const jids = cmd.phones.map((phone) => recipientJid(phone));
    return this.answer(
      cmd,
      'the number check',
      (conn) => conn.checkNumbers(jids),
      (subject, answers) => {
        // Matched by JID, not trusted by position: a JID missing from the answer is not on WhatsApp.
        const byJid = new Map(answers.map((a) => [a.jid, a]));
        const results = cmd.phones.map((phone, i) => {
          const jid = jids[i]!;
          const answer = byJid.get(jid);
          if (!answer?.exists) return { phone, onWhatsApp: false };
          this.registered.set(jid, true);
          return { phone, onWhatsApp: true, jid, ...(answer.lid ? { lid: answer.lid } : {}) };
        });
        return this.events.message('numbers_checked', subject, { results });
      },
      (subject, failure) => this.events.message('numbers_check_failed', subject, { phones: cmd.phones, ...failure }),
      defer,
    );
  }

  /**
   * `mark_read`: read receipts for messages of a chat (given ids, or every unread one up to an id),
   * answered with messages_read once WhatsApp was sent them (read-receipts.ts). A redelivery sends them again: harmless.
   */
  markRead(cmd: MarkReadCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.reads.markRead(cmd, defer);
  }

  /** `send_presence`: the account's presence or a chat state, answered with presence_sent or presence_failed. */
  sendPresence(cmd: SendPresenceCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const { state, chat } = cmd;
    const which = { state, ...(chat ? { chat } : {}) };
    return this.answer(
      cmd,
      `the presence "${state}"`,
      (conn) => conn.sendPresence(state, chat ? recipientJid(chat) : undefined),
      (subject) => this.events.message('presence_sent', subject, which),
      (subject, failure) => this.events.message('presence_failed', subject, { ...which, ...failure }),
      defer,
    );
  }

  /** `edit_message`: once per requestId; the answer is message_edit_sent or message_edit_failed (see message-changes.ts). */
  editMessage(cmd: EditMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.changes.edit(cmd, defer);
  }

  /** `delete_message`: once per requestId; the answer is message_deleted or message_delete_failed. */
  deleteMessage(cmd: DeleteMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.changes.delete(cmd, defer);
  }

  /** See `answerCommand`. */
  private answer<T>(
    cmd: { requestId: string; action: string },
    what: string,
    act: (conn: WhatsAppConnection) => Promise<T>,
    done: (subject: MessageSubject, result: T) => Promise<unknown>,
    failed: (subject: MessageSubject, failure: CommandFailure) => Promise<unknown>,
    defer?: (confirmed: Promise<unknown>) => void,
  ): Promise<void> {
    return answerCommand({ host: this.host, sendWaitForOpenMs: this.deps.sendWaitForOpenMs, log: this.log }, cmd, what, act, done, failed, defer);
  }

  private async checkRecipient(conn: WhatsAppConnection, jid: string): Promise<void> {
    if (!isPhoneJid(jid) || this.registered.has(jid)) return;
    let exists: boolean;
    try {
      exists = await conn.isOnWhatsApp(jid);
    } catch (err) {
      throw new SendFailure('SEND_FAILED', `could not check ${jid} on WhatsApp: ${describeError(err)}`);
    }
    if (!exists) throw new SendFailure('NOT_ON_WHATSAPP', `${jid.split('@')[0]} is not a WhatsApp number`);
    this.registered.set(jid, true);
  }

  // ---- receiving ----------------------------------------------------------------------------

  onMessages(messages: IncomingMessage[], offline: boolean): void {
    this.chain(async () => {
      const telemetry = this.deps.telemetry;
      for (const m of messages) {
        if (!telemetry?.enabled) await this.incoming.receive(m, offline);
        // Each incoming message starts a trace; its message_received carries it (traceparent header).
        else
          await telemetry.span(
            'whatsapp receive',
            { 'wa.number_id': this.host.numberId, 'wa.message_id': m.id, 'wa.message_type': m.type, 'wa.offline': offline },
            () => this.incoming.receive(m, offline),
            {
              root: true,
              kind: 'consumer',
            },
          );
      }
    });
  }

  /** Reactions, edits and revokes: on the same chain as messages, so an edit never overtakes the message it edits. */
  onUpdates(updates: IncomingUpdate[], offline: boolean): void {
    this.chain(async () => {
      for (const u of updates) await this.updates.receive(u, offline);
    });
  }

  /** A chunk of the history the phone sends after linking: published on the same chain as live messages (history-sync.ts). */
  onHistory(chunk: HistoryChunk): void {
    this.chain(async () => {
      const { numberId, id: sessionId } = this.host;
      await publishHistoryChunk(chunk, { numberId, sessionId, events: this.events, batch: this.deps.historyEventBatch ?? 200, seen: this.seen, log: this.log });
    });
  }

  onReceipts(receipts: MessageReceipt[]): void {
    this.chain(async () => {
      for (const r of receipts) await this.status(r);
    });
  }

  /** `delete`: nothing more is written for this session; its media files and queued history are dropped. */
  async forget(): Promise<void> {
    await this.inbound;
    await this.deps.history?.forget(this.host.id);
    await this.deps.media?.deleteSession(this.host.id);
  }

  /** Resolves once every incoming message and receipt handed over so far is published. */
  idle(): Promise<void> {
    return this.inbound;
  }

  private chain(task: () => Promise<void>): void {
    this.inbound = this.inbound.then(task).catch((err) => this.log.error({ err }, 'incoming message handling failed'));
  }

  private async status(r: MessageReceipt): Promise<void> {
    const dedupe = `${r.messageId}|${r.status}|${r.participant ?? ''}`;
    if (this.statuses.has(dedupe)) return;
    // A receipt can overtake its own message_sent: keep them in order.
    await this.sending.get(r.messageId);
    const publish = () =>
      this.events.message(
        'message_status',
        { numberId: this.host.numberId, sessionId: this.host.id },
        {
          messageId: r.messageId,
          status: r.status,
          chat: r.chat,
          ...(r.participant ? { participant: r.participant } : {}),
          ...(r.at ? { statusAt: r.at } : {}),
        },
      );
    const telemetry = this.deps.telemetry;
    if (telemetry?.enabled) {
      // WhatsApp's ack of a message we sent continues its send's trace: backend span → send → ack, one trace.
      const parent = this.sendTraces.get(r.messageId);
      const attributes = { 'wa.number_id': this.host.numberId, 'wa.message_id': r.messageId, 'wa.status': r.status };
      await telemetry.span('whatsapp receipt', attributes, publish, parent ? { parent, kind: 'consumer' } : { root: true, kind: 'consumer' });
    } else await publish();
    this.statuses.set(dedupe, true);
  }
}
