import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RejectCallCommand } from '../commands/command.js';
import type { Events, MessageSubject } from '../events/event-publisher.js';
import { describeError } from '../util/errors.js';
import type { SessionSettings } from '../util/session-settings.js';
import type { IncomingCall, WhatsAppConnection } from '../whatsapp/types.js';
import { answerCommand } from './answer-command.js';
import { Lru } from './lru.js';
import type { MessagingHost } from './session-messaging.js';

/** What the calls of a session need from it: messaging's host, and the number's settings in force. */
export interface CallsHost extends MessagingHost {
  readonly settings: SessionSettings;
}

/** Calls remembered per session (offers and ends, each): bounded, a caller cannot grow them without limit. */
const REMEMBERED_CALLS = 1000;

/**
 * A session's incoming calls: each offer published once (`call_received`), rejected first when
 * the number's `rejectCalls` is on (then the `rejectCallMessage`, if any, sent to the caller);
 * each end (`call_ended`) once; and the `reject_call` command. Calls are handled one at a time on
 * their own chain, apart from messages: a call rings for seconds, it must not wait behind a
 * message's media download.
 */
export class SessionCalls {
  /** Offers seen, by call id: published once, and the caller a later `reject_call` is addressed to. */
  private readonly offers = new Lru<string, IncomingCall>(REMEMBERED_CALLS);
  private readonly ended = new Lru<string, true>(REMEMBERED_CALLS);
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: CallsHost,
    private readonly events: Events,
    private readonly deps: { sendWaitForOpenMs: number },
    private readonly log: Logger,
  ) {}

  onCalls(calls: IncomingCall[]): void {
    for (const call of calls) {
      this.chain = this.chain
        .then(() => (call.status === 'offer' ? this.offer(call) : this.end(call)))
        .catch((err) => this.log.error({ err, callId: call.id }, 'incoming call handling failed'));
    }
  }

  /** Resolves once every call handed over so far is handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** `reject_call`: the reject sent to WhatsApp, answered with call_rejected or call_reject_failed. */
  reject(cmd: RejectCallCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    // The JID WhatsApp named the caller by when the backend names that caller (by PN or LID):
    // the reject must carry the call's own `call-creator`.
    const offer = this.offers.get(cmd.callId);
    const to = offer && [offer.from.pn, offer.from.lid, offer.callerJid].includes(cmd.from) ? offer.callerJid : cmd.from;
    const which = { callId: cmd.callId, from: cmd.from };
    return answerCommand(
      { host: this.host, sendWaitForOpenMs: this.deps.sendWaitForOpenMs, log: this.log },
      cmd,
      'the call reject',
      (conn) => conn.rejectCall(cmd.callId, to),
      (subject) => this.events.message('call_rejected', subject, { callId: cmd.callId, from: to }),
      (subject, failure) => this.events.message('call_reject_failed', subject, { ...which, ...failure }),
      defer,
    );
  }

  private subject(kind: string, callId: string): MessageSubject {
    // The eventId derives from the call: a re-publication is recognisably the same event.
    return { numberId: this.host.numberId, sessionId: this.host.id, eventKey: `${kind}\0${this.host.id}\0${callId}` };
  }

  private async offer(call: IncomingCall): Promise<void> {
    if (this.offers.has(call.id)) return;
    this.offers.set(call.id, call);
    const settings = this.host.settings;
    let autoRejected = false;
    let rejectMessageSent: boolean | undefined;
    if (settings.rejectCalls) {
      const conn = await this.host.connectionForSend(0).catch(() => undefined);
      autoRejected = conn ? await this.autoReject(conn, call) : false;
      if (autoRejected && conn && settings.rejectCallMessage) rejectMessageSent = await this.sendRejectMessage(conn, call, settings.rejectCallMessage);
    }
    await this.events.message('call_received', this.subject('call_received', call.id), {
      callId: call.id,
      from: call.from,
      isVideo: call.isVideo,
      isGroup: call.isGroup,
      offeredAt: call.at,
      offline: call.offline,
      autoRejected,
      ...(rejectMessageSent !== undefined ? { rejectMessageSent } : {}),
    });
  }

  private async autoReject(conn: WhatsAppConnection, call: IncomingCall): Promise<boolean> {
    try {
      await conn.rejectCall(call.id, call.callerJid);
      return true;
    } catch (err) {
      this.log.warn({ callId: call.id, err: describeError(err) }, 'rejectCalls: WhatsApp did not take the reject; the call rings on');
      return false;
    }
  }

  /** The number's rejectCallMessage to the caller: once per call (its id derives from the call), by phone number when known. */
  private async sendRejectMessage(conn: WhatsAppConnection, call: IncomingCall, text: string): Promise<boolean> {
    const to = call.from.pn ?? call.from.lid ?? call.callerJid;
    try {
      await conn.sendMessage(to, { type: 'text', text }, { messageId: rejectMessageId(this.host.id, call.id) });
      return true;
    } catch (err) {
      this.log.warn({ callId: call.id, err: describeError(err) }, 'rejectCalls: the rejectCallMessage was not sent');
      return false;
    }
  }

  private async end(call: IncomingCall): Promise<void> {
    if (this.ended.has(call.id)) return;
    this.ended.set(call.id, true);
    const reason = call.status === 'timeout' ? 'timeout' : 'terminate';
    // A terminate without its offer (Baileys also reports the caller's own devices ending) still names the caller.
    const from = this.offers.get(call.id)?.from ?? call.from;
    await this.events.message('call_ended', this.subject('call_ended', call.id), { callId: call.id, from, reason });
  }
}

/**
 * The id of the rejectCallMessage for one call: derived from (session, call id) in a namespace of
 * its own (no send_message id can equal it), Baileys-shaped like `deriveMessageId`'s.
 */
function rejectMessageId(sessionId: string, callId: string): string {
  const digest = createHash('sha256').update('wa-worker/reject-call-message/v1\0').update(sessionId).update('\0').update(callId).digest('hex');
  return `3EB0${digest.slice(0, 18).toUpperCase()}`;
}
