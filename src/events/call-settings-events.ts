import { z } from 'zod';
import { HISTORY_SYNC_MODES } from '../util/session-settings.js';
import { envelope, messageEvent } from './event-envelope.js';

const callerSchema = z
  .object({
    pn: z.string().optional().describe("The caller's phone-number JID, when known."),
    lid: z.string().optional().describe("The caller's LID, when known."),
  })
  .describe('Who calls (either is accepted as `from` by reject_call).');

const settingsSchema = z
  .object({
    rejectCalls: z.boolean().describe('Every incoming call is rejected as it rings.'),
    rejectCallMessage: z.string().optional().describe('The text sent to a caller after an automatic reject.'),
    autoRead: z.boolean().describe('Incoming messages get read receipts once their message_received is confirmed.'),
    alwaysOnline: z.boolean().describe('The account is announced available on every connect.'),
    historySync: z.enum(HISTORY_SYNC_MODES).describe('What the session asks WhatsApp for when it links.'),
    pacing: z
      .object({
        perMinute: z.number().int().nonnegative(),
        burst: z.number().int().positive(),
        minGapMs: z.number().int().nonnegative(),
        jitterMs: z.number().int().nonnegative(),
        typing: z.boolean(),
      })
      .optional()
      .describe('Send pacing in force (README "Send pacing"); absent: the number\'s sends are not paced (a warm-up may still apply).'),
    proxy: z
      .string()
      .optional()
      .describe('The proxy in force, its password replaced by `***` (e.g. `socks5://user:***@10.0.0.5:1080`); absent: direct connections.'),
  })
  .describe("The number's settings in force.");

/** Incoming calls, `reject_call` and `update_settings` (issue 12). */
export function callSettingsEvents() {
  return {
    call_received: messageEvent(
      'call_received',
      "Emitted when someone calls the account (WhatsApp's call offer), once per call id; after the automatic reject when the number's rejectCalls setting is on.",
      {
        callId: z.string().describe("WhatsApp's id of the call: what `reject_call` takes."),
        from: callerSchema,
        isVideo: z.boolean().describe('A video call.'),
        isGroup: z.boolean().describe('A group call.'),
        offeredAt: z.number().int().describe('When WhatsApp says the call was offered, epoch ms.'),
        offline: z.boolean().describe('True when WhatsApp replayed the offer after an offline period.'),
        autoRejected: z
          .boolean()
          .describe('True when the worker rejected it (rejectCalls): WhatsApp took the reject. False: it rings (or the reject failed: logged).'),
        rejectMessageSent: z.boolean().optional().describe('With autoRejected and a rejectCallMessage: whether WhatsApp took the message to the caller.'),
      },
    ),
    call_ended: messageEvent('call_ended', 'Emitted when a call to the account ends unanswered (timeout) or is hung up (terminate), once per call id.', {
      callId: z.string().describe('The call, as call_received gave it.'),
      from: callerSchema,
      reason: z.enum(['timeout', 'terminate']).describe('timeout: nobody answered; terminate: the caller hung up or the call ended.'),
    }),
    call_rejected: messageEvent('call_rejected', 'Emitted when a `reject_call` was carried out: WhatsApp acknowledged the reject.', {
      requestId: z.string().describe("The command's requestId."),
      callId: z.string().describe('The call rejected.'),
      from: z.string().describe('The caller the reject was addressed to (a JID).'),
    }),
    call_reject_failed: messageEvent(
      'call_reject_failed',
      'Emitted when a `reject_call` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, or WhatsApp did not acknowledge the reject.',
      {
        sessionId: envelope.sessionId.optional(),
        requestId: z.string().describe("The command's requestId."),
        callId: z.string().describe('The call asked about.'),
        from: z.string().describe('The caller, as given (a JID).'),
        code: z.string().describe('A stable code: UNKNOWN_SESSION, NOT_CONNECTED, WHATSAPP_ERROR.'),
        reason: z.string().describe('What went wrong, for a person.'),
      },
    ),
    settings_updated: messageEvent(
      'settings_updated',
      "Emitted when an `update_settings` was stored with the session: `settings` are those now in force (the worker's defaults with the number's own on top). rejectCalls, rejectCallMessage, autoRead and alwaysOnline apply at once, historySync at the next link; a changed proxy reconnects the session through it.",
      {
        requestId: z.string().describe("The command's requestId."),
        settings: settingsSchema,
      },
    ),
    settings_update_failed: messageEvent('settings_update_failed', 'Emitted when an `update_settings` could not be carried out: no such session.', {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      code: z.string().describe('A stable code: UNKNOWN_SESSION.'),
      reason: z.string().describe('What went wrong, for a person.'),
    }),
  };
}
