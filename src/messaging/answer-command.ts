import type { Logger } from 'pino';
import type { MessageSubject } from '../events/event-publisher.js';
import { describeError, isWorkerError } from '../util/errors.js';
import type { WhatsAppConnection } from '../whatsapp/types.js';
import { SendFailure } from './outgoing-content.js';
import type { MessagingHost } from './messaging-host.js';

/** Why an answered command could not be carried out: a stable code and a reason for a person. */
export interface CommandFailure {
  code: string;
  reason: string;
}

/** Where an answered command runs: its session, and how long it may wait for the socket to open. */
export interface AnswerContext {
  host: MessagingHost;
  sendWaitForOpenMs: number;
  log: Logger;
}

/**
 * A command that asks WhatsApp something and is answered by an event either way: `done` once
 * WhatsApp took it; `failed` when it cannot be done (no open session within
 * SEND_WAIT_FOR_OPEN_MS: NOT_CONNECTED and the like; WhatsApp failing: WHATSAPP_ERROR, or the
 * code of a `SendFailure` that `act` throws itself), as a send's recipient check answers with
 * message_failed. Only the broker (the answer's confirm) makes the command retry.
 *
 * `defer`, when given, receives the answer's broker confirm instead of this call awaiting it:
 * the session's lane is held only for the WhatsApp part.
 */
export async function answerCommand<T>(
  ctx: AnswerContext,
  cmd: { requestId: string; action: string },
  what: string,
  act: (conn: WhatsAppConnection) => Promise<T>,
  done: (subject: MessageSubject, result: T) => Promise<unknown>,
  failed: (subject: MessageSubject, failure: CommandFailure) => Promise<unknown>,
  defer?: (confirmed: Promise<unknown>) => void,
): Promise<void> {
  const subject = { numberId: ctx.host.numberId, sessionId: ctx.host.id, requestId: cmd.requestId };
  let published: Promise<unknown>;
  try {
    const conn = await ctx.host.connectionForSend(ctx.sendWaitForOpenMs).catch((err) => {
      throw isWorkerError(err) ? new SendFailure(err.code, err.message) : err;
    });
    const result = await act(conn).catch((err) => {
      if (err instanceof SendFailure) throw err;
      throw new SendFailure('WHATSAPP_ERROR', `WhatsApp did not take ${what}: ${describeError(err)}`);
    });
    published = done(subject, result);
  } catch (err) {
    if (!(err instanceof SendFailure)) throw err;
    ctx.log.warn({ requestId: cmd.requestId, action: cmd.action, code: err.code, reason: err.message }, 'command not carried out');
    published = failed(subject, { code: err.code, reason: err.message });
  }
  if (defer) defer(published);
  else await published;
}
