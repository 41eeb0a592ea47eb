import { z } from 'zod';
import { HISTORY_SYNC_MODES } from '../util/session-settings.js';
import { groupEvents } from './group-events.js';

/**
 * Every event the worker publishes: one schema each, documented with when it is emitted.
 * The publisher validates against these, and `scripts/generate-asyncapi.ts` turns them into
 * `docs/asyncapi.json` (a test keeps the two in sync).
 */
const envelope = {
  numberId: z.number().int().nonnegative().describe("The backend's id of the WhatsApp number."),
  sessionId: z.string().describe('`session_<numberId>_<phone>`.'),
  workerId: z.string().describe('The worker that published the event.'),
  timestamp: z.number().int().describe('When the event happened, epoch milliseconds.'),
  eventId: z.string().uuid().describe('Unique per event; stable across re-publication, so consumers can de-duplicate.'),
  requestId: z.string().optional().describe('The `requestId` (or AMQP correlation_id) of the command that caused the event.'),
};

const sessionEvent = <A extends string, S extends z.ZodRawShape>(action: A, description: string, shape: S) =>
  z.object({ action: z.literal(action), ...envelope, ...shape }).describe(description);

export const sessionEventSchemas = {
  qr_generated: sessionEvent('qr_generated', 'Emitted when WhatsApp issues a QR code to link the session (once per refresh).', {
    qrCode: z.string().startsWith('data:image/png;base64,').describe('The QR as a PNG data URL, ready for an <img>.'),
    qrString: z.string().describe('The raw string encoded in the QR.'),
    attempt: z.number().int().positive().describe('1 for the first QR of this linking attempt, then 2, 3…'),
    expiresAt: z.number().int().describe('When this QR stops being valid, epoch ms.'),
  }),
  qr_expired: sessionEvent('qr_expired', 'Emitted when every QR expired with no scan; the session stops and waits for a new `create`.', {}),
  pairing_code_generated: sessionEvent('pairing_code_generated', 'Emitted when a `request_pairing_code` produced a code to type on the phone.', {
    pairingCode: z.string().length(8),
  }),
  connected: sessionEvent('connected', "Emitted when the session's WhatsApp socket is open (after linking, a restore or a reconnect).", {
    phoneNumber: z.string().describe("Digits of the linked account's number."),
    jid: z.string().describe("The linked device's JID."),
  }),
  disconnected: sessionEvent('disconnected', 'Emitted when the socket closed without a logout: on a `disconnect` command, a drop, or a refused connection.', {
    reason: z.string(),
    statusCode: z.number().int().optional().describe("WhatsApp's disconnect code when there is one (408, 428, 440, 503, 515…)."),
    willReconnect: z.boolean().describe('True when the worker retries by itself.'),
  }),
  logged_out: sessionEvent(
    'logged_out',
    'Emitted when the session is unlinked (a `logout` command, or the phone removed the device); its credentials are deleted.',
    {
      reason: z.string(),
    },
  ),
  session_deleted: sessionEvent('session_deleted', 'Emitted when a `delete` command removed everything stored for the session.', {}),
  session_status: sessionEvent('session_status', 'Emitted when a `status` command asks where the session stands.', {
    status: z.enum(['starting', 'awaiting_scan', 'awaiting_pairing', 'connected', 'reconnecting', 'stopped', 'logged_out', 'banned', 'unknown']),
    phoneNumber: z.string().optional(),
    jid: z.string().optional(),
  }),
  command_rejected: z
    .object({
      action: z.literal('command_rejected'),
      ...envelope,
      sessionId: envelope.sessionId.optional(),
      code: z.string().describe('A stable error code, e.g. UNKNOWN_SESSION, CAPACITY, INVALID_PHONE, INVALID_COMMAND.'),
      reason: z.string().describe('What was wrong, for a person.'),
      command: z.string().optional().describe("The rejected command's action."),
    })
    .describe('Emitted when a command that names a session cannot be done (unknown session, capacity reached, invalid phone, malformed).'),
};

const messageEvent = <A extends string, S extends z.ZodRawShape>(action: A, description: string, shape: S) =>
  z.object({ action: z.literal(action), ...envelope, ...shape }).describe(description);

export const MESSAGE_STATUSES = ['server_ack', 'delivered', 'read', 'played', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** What `send_message` may send (its `type`), and what `message_sent` reports. */
export const SENT_MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contact', 'poll', 'reaction'] as const;

export const RECEIVED_MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contact', 'reaction', 'poll', 'other'] as const;
export type ReceivedMessageType = (typeof RECEIVED_MESSAGE_TYPES)[number];

const messageId = z.string().describe('The WhatsApp message id (`key.id`).');

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
  })
  .describe("The number's settings in force.");

/** Baileys' `HistorySync.HistorySyncType`, named. */
export const HISTORY_SYNC_TYPES = [
  'initial_bootstrap',
  'initial_status_v3',
  'full',
  'recent',
  'push_name',
  'non_blocking_data',
  'on_demand',
  'unknown',
] as const;
export type HistorySyncType = (typeof HISTORY_SYNC_TYPES)[number];

const historyChunk = {
  syncType: z.enum(HISTORY_SYNC_TYPES).describe("Which part of the history the phone sent (WhatsApp's sync type)."),
  chunkOrder: z.number().int().optional().describe("The chunk's place in that part, when the phone said."),
};

/**
 * Message events, on the `whatsapp.message.events` queue (routing key `message.<action>`).
 * Every one carries the session envelope; `requestId` is the command's (`send_message`, `check_numbers`, `mark_read`, `send_presence`, `edit_message`, `delete_message`, `reject_call`, `update_settings`, the profile and group commands).
 */
export const messageEventSchemas = {
  message_sent: messageEvent(
    'message_sent',
    'Emitted when a `send_message` command was handed to WhatsApp (once per requestId: a redelivered command re-publishes it without sending again).',
    {
      messageId: messageId.describe('The WhatsApp message id, derived from (sessionId, requestId): the same for every attempt of one command.'),
      requestId: z.string().describe("The command's requestId."),
      to: z.string().describe('The recipient as the command gave it.'),
      toJid: z.string().describe('The recipient JID the message was sent to.'),
      type: z.enum(SENT_MESSAGE_TYPES),
      sentAt: z.number().int().describe('When WhatsApp took the message, epoch ms.'),
    },
  ),
  message_status: messageEvent(
    'message_status',
    'Emitted when WhatsApp reports progress of a message this session sent: server_ack, delivered, read, played, or failed.',
    {
      messageId,
      status: z.enum(MESSAGE_STATUSES),
      chat: z.string().describe('The chat JID the message is in.'),
      participant: z.string().optional().describe('Groups: the member whose receipt this is.'),
      statusAt: z.number().int().optional().describe('When the status was reached, epoch ms, if WhatsApp said.'),
    },
  ),
  message_failed: messageEvent(
    'message_failed',
    'Emitted when a `send_message` could not be sent: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, the recipient is not on WhatsApp, the media is missing, unreachable (url) or too large, or WhatsApp refused it.',
    {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      messageId: messageId.optional().describe('The id the message would have had.'),
      to: z.string().optional(),
      code: z
        .string()
        .describe(
          'A stable code: UNKNOWN_SESSION, NOT_CONNECTED, NOT_ON_WHATSAPP, MEDIA_NOT_FOUND (a `mediaKey` with no file), MEDIA_UNAVAILABLE (a `url` that could not be fetched, whatever the cause: refused address, no answer, an error status), MEDIA_TOO_LARGE, INVALID_MEDIA, SEND_FAILED…',
        ),
      reason: z.string().describe('What went wrong, for a person.'),
    },
  ),
  numbers_checked: messageEvent(
    'numbers_checked',
    'Emitted when a `check_numbers` command was answered by WhatsApp (one batched query): for each phone asked, whether it is on WhatsApp. A redelivered command is asked and answered again.',
    {
      requestId: z.string().describe("The command's requestId."),
      results: z
        .array(
          z.object({
            phone: z.string().describe('The phone asked about, canonical: `+` and its E.164 digits.'),
            onWhatsApp: z.boolean().describe('Registered on WhatsApp.'),
            jid: z.string().optional().describe('Its WhatsApp JID (`<digits>@s.whatsapp.net`), when it is on WhatsApp.'),
            lid: z.string().optional().describe('Its LID (`…@lid`), when it is on WhatsApp and WhatsApp told it.'),
          }),
        )
        .describe('One entry per distinct phone, in the order asked (a phone asked twice is answered once, where it first appeared).'),
    },
  ),
  numbers_check_failed: messageEvent(
    'numbers_check_failed',
    'Emitted when a `check_numbers` could not be answered: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, or the WhatsApp query failed (send again to retry).',
    {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      phones: z.array(z.string()).describe('The phones asked about, canonical, each once, in the order asked.'),
      code: z.string().describe('A stable code: UNKNOWN_SESSION, NOT_CONNECTED, WHATSAPP_ERROR (the query failed or timed out).'),
      reason: z.string().describe('What went wrong, for a person.'),
    },
  ),
  messages_read: messageEvent(
    'messages_read',
    'Emitted when a `mark_read` was carried out: the read receipts for the messages were sent to WhatsApp (the contact, or in a group each sender, sees them read) and the session forgets them as unread. A redelivered command sends them again and answers again.',
    {
      requestId: z.string().describe("The command's requestId."),
      chat: z.string().describe('The chat whose messages were read: a phone canonical (`+` and its E.164 digits), or the JID as given (lowercased).'),
      messageIds: z
        .array(z.string())
        .describe(
          'The ids marked read, each once: those of `messageIds` in the order given (less `skipped`), or for `upTo` the unread messages up to it in the order received (only `upTo` itself when `upToRemembered` is false).',
        ),
      skipped: z
        .array(z.string())
        .optional()
        .describe(
          'Groups: ids NOT marked read because this session does not know who sent them (a group read receipt names the sender) and the command gave no `participant`. Absent when none.',
        ),
      upTo: z.string().optional().describe("The command's `upTo`, when it gave one."),
      upToRemembered: z
        .boolean()
        .optional()
        .describe(
          'With `upTo`: true when the session remembered it among the unread messages of the chat (all before it were marked too); false when it did not (after a restart, evicted, or already read): only `upTo` itself was marked.',
        ),
    },
  ),
  mark_read_failed: messageEvent(
    'mark_read_failed',
    'Emitted when a `mark_read` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, WhatsApp refused (send again to retry), or in a group no id could be marked because the sender of each is unknown (send again with `participant`).',
    {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      chat: z.string().describe('The chat, as in messages_read.'),
      messageIds: z.array(z.string()).optional().describe('The ids asked to be marked read (when the command gave `messageIds`).'),
      upTo: z.string().optional().describe("The command's `upTo` (when it gave one)."),
      unknownIds: z.array(z.string()).optional().describe('UNKNOWN_MESSAGE: the ids whose sender is unknown (all of those asked).'),
      code: z
        .string()
        .describe('A stable code: UNKNOWN_SESSION, NOT_CONNECTED, WHATSAPP_ERROR, UNKNOWN_MESSAGE (a group, and no sender known for any of the ids).'),
      reason: z.string().describe('What went wrong, for a person.'),
    },
  ),
  presence_sent: messageEvent(
    'presence_sent',
    "Emitted when a `send_presence` was carried out: the account's presence (available, unavailable) or a chat state towards `chat` (composing, recording, paused) was sent to WhatsApp.",
    {
      requestId: z.string().describe("The command's requestId."),
      state: z.enum(['available', 'unavailable', 'composing', 'recording', 'paused']).describe('The state sent.'),
      chat: z.string().optional().describe('The contact a chat state was sent to, canonical; absent for available/unavailable.'),
    },
  ),
  presence_failed: messageEvent(
    'presence_failed',
    'Emitted when a `send_presence` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, or WhatsApp refused (e.g. no push name yet for available/unavailable).',
    {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      state: z.string().describe('The state asked for.'),
      chat: z.string().optional().describe('The contact, canonical, for a chat state.'),
      code: z.string().describe('A stable code: UNKNOWN_SESSION, NOT_CONNECTED, WHATSAPP_ERROR.'),
      reason: z.string().describe('What went wrong, for a person.'),
    },
  ),
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
    "Emitted when an `update_settings` was stored with the session: `settings` are those now in force (the worker's defaults with the number's own on top). rejectCalls, rejectCallMessage, autoRead and alwaysOnline apply at once, historySync at the next link.",
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
  ...profileEvents(),
  ...groupEvents(envelope),
  ...groupNotificationEvents(),
  message_edit_sent: messageEvent(
    'message_edit_sent',
    'Emitted when an `edit_message` was handed to WhatsApp: the contact sees the new text (once per requestId: a redelivered command re-publishes it without editing again).',
    {
      requestId: z.string().describe("The command's requestId."),
      chat: z.string().describe('The chat as the command gave it.'),
      chatJid: z.string().describe('The chat JID the edit was sent to.'),
      messageId: messageId.describe('The id of the message edited.'),
      editId: z.string().describe("The edit's own WhatsApp message id, derived from (sessionId, requestId): the same for every attempt of one command."),
      text: z.string().describe('The new text.'),
      editedAt: z.number().int().describe('When WhatsApp took the edit, epoch ms.'),
    },
  ),
  message_edit_failed: messageEvent(
    'message_edit_failed',
    'Emitted when an `edit_message` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, the message is known not to be editable, or WhatsApp refused.',
    {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      chat: z.string().describe('The chat as the command gave it.'),
      messageId: messageId.describe('The id of the message that was to be edited.'),
      code: z
        .string()
        .describe(
          "A stable code: UNKNOWN_SESSION, NOT_CONNECTED, NOT_EDITABLE (not a message this session sent, not a text, or older than WhatsApp's 15-minute edit window: known from the session's recent messages), WHATSAPP_ERROR.",
        ),
      reason: z.string().describe('What went wrong, for a person.'),
    },
  ),
  message_deleted: messageEvent(
    'message_deleted',
    'Emitted when a `delete_message` was handed to WhatsApp: the message is revoked for everyone (once per requestId: a redelivered command re-publishes it without revoking again).',
    {
      requestId: z.string().describe("The command's requestId."),
      chat: z.string().describe('The chat as the command gave it.'),
      chatJid: z.string().describe('The chat JID the revoke was sent to.'),
      messageId: messageId.describe('The id of the message revoked.'),
      fromMe: z.boolean().describe("True for this session's own message; false for a member's message revoked as a group admin."),
      participant: z.string().optional().describe('fromMe false: the member who sent the message (JID).'),
      revokeId: z.string().describe("The revoke's own WhatsApp message id, derived from (sessionId, requestId)."),
      deletedAt: z.number().int().describe('When WhatsApp took the revoke, epoch ms.'),
    },
  ),
  message_delete_failed: messageEvent(
    'message_delete_failed',
    'Emitted when a `delete_message` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, the message is known not to be revocable, or WhatsApp refused.',
    {
      sessionId: envelope.sessionId.optional(),
      requestId: z.string().describe("The command's requestId."),
      chat: z.string().describe('The chat as the command gave it.'),
      messageId: messageId.describe('The id of the message that was to be revoked.'),
      code: z
        .string()
        .describe(
          "A stable code: UNKNOWN_SESSION, NOT_CONNECTED, NOT_DELETABLE (fromMe true for a message the session received, or older than WhatsApp's revoke window of about 2 days: known from the session's recent messages), WHATSAPP_ERROR.",
        ),
      reason: z.string().describe('What went wrong, for a person.'),
    },
  ),
  message_reaction: messageEvent(
    'message_reaction',
    'Emitted when someone else reacts to a message, or removes a reaction (`emoji` empty), live or replayed after an offline period (each reaction message once). Replaces message_received of type reaction.',
    {
      messageId: messageId.describe("The reaction's own WhatsApp message id."),
      reactedTo: z.string().describe('The id of the message reacted to.'),
      reactedToFromMe: z.boolean().optional().describe('True when the message reacted to is one this account sent.'),
      chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
      isGroup: z.boolean(),
      from: z
        .object({
          pn: z.string().optional().describe("The reactor's phone-number JID, when known."),
          lid: z.string().optional().describe("The reactor's LID, when known."),
        })
        .describe('Who reacted.'),
      participant: z.string().optional().describe('Groups: the member who reacted.'),
      emoji: z.string().max(32).describe("The reaction (at most 32 characters); '' when the reaction was removed."),
      sentAt: z.number().int().describe('When the reaction was made, epoch ms.'),
      offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline.'),
    },
  ),
  message_edited: messageEvent(
    'message_edited',
    'Emitted when someone else edits a message they sent, live or replayed after an offline period (each edit once).',
    {
      messageId: messageId.describe('The id of the message edited (as in its message_received).'),
      editId: z.string().describe("The edit's own WhatsApp message id."),
      chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
      isGroup: z.boolean(),
      from: z
        .object({
          pn: z.string().optional().describe("The editor's phone-number JID, when known."),
          lid: z.string().optional().describe("The editor's LID, when known."),
        })
        .describe('Who edited.'),
      participant: z.string().optional().describe('Groups: the member who edited.'),
      newText: z.string().max(65_536).optional().describe('The new text (or caption); absent when the edited content has none.'),
      editedAt: z.number().int().describe('When the edit was made, epoch ms.'),
      offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline.'),
    },
  ),
  message_revoked: messageEvent(
    'message_revoked',
    'Emitted when someone else revokes a message for everyone ("delete for everyone": their own, or a member\'s as a group admin), live or replayed after an offline period (each revoke once).',
    {
      messageId: messageId.describe('The id of the message revoked.'),
      revokeId: z.string().describe("The revoke's own WhatsApp message id."),
      chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
      isGroup: z.boolean(),
      from: z
        .object({
          pn: z.string().optional().describe("The revoker's phone-number JID, when known."),
          lid: z.string().optional().describe("The revoker's LID, when known."),
        })
        .describe('Who revoked it.'),
      participant: z.string().optional().describe('Groups: the member who revoked it.'),
      author: z.string().optional().describe("Groups: the revoked message's sender, when the revoker named one (an admin revoking a member's message)."),
      revokedAt: z.number().int().describe('When it was revoked, epoch ms.'),
      offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline.'),
    },
  ),
  message_received: messageEvent(
    'message_received',
    'Emitted when a message from someone else reaches the session, live or replayed after an offline period (each WhatsApp message id once), and for each message of the history the phone sends after linking (`source: "history"`, our own past messages included with `fromMe: true`).',
    {
      messageId,
      chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
      isGroup: z.boolean(),
      from: z
        .object({
          pn: z.string().optional().describe("The sender's phone-number JID, when known."),
          lid: z.string().optional().describe("The sender's LID, when known."),
        })
        .describe('Who sent it.'),
      participant: z.string().optional().describe('Groups: the member who sent it (as WhatsApp addressed it).'),
      pushName: z.string().optional().describe("The sender's display name."),
      sentAt: z.number().int().describe('When the sender sent it, epoch ms.'),
      offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline and replayed on reconnect.'),
      source: z
        .enum(['live', 'offline', 'history'])
        .optional()
        .describe(
          'How it reached the session: `live`, `offline` (replayed on reconnect; same as `offline: true`) or `history` (the history the phone sends after linking: `offline` is false, media files are described but not downloaded).',
        ),
      fromMe: z
        .boolean()
        .optional()
        .describe('History only: true for a message this account sent (from the phone or another device); `from` is then the account.'),
      type: z
        .enum(RECEIVED_MESSAGE_TYPES)
        .describe('What it is. `reaction` is no longer emitted (reactions are message_reaction); it stays in the list for consumers that validate against it.'),
      text: z.string().optional().describe('The text (text messages) or caption (media).'),
      caption: z.string().optional().describe('The caption of a media message.'),
      replyTo: z.string().optional().describe('The id of the message this one quotes.'),
      media: z
        .object({
          key: z
            .string()
            .optional()
            .describe(
              'Where the file is in the media store (bucket whatsapp-media, or STORAGE_DIR/media): `media/<sessionId>/<images|videos|audio|documents|stickers>/<hash of chat, sender and message id>-<random>.<ext>`, the extension from an allow-list of MIME types (`bin` otherwise). Absent when it could not be stored.',
            ),
          mimeType: z.string().optional().describe('The MIME type the sender declared (its claim: the stored Content-Type comes from an allow-list).'),
          size: z.number().int().nonnegative().optional().describe('Bytes.'),
          fileName: z.string().optional().describe('The file name the sender gave (information only: never used to name the stored file).'),
          ptt: z.boolean().optional().describe('Audio: a voice note.'),
          error: z
            .string()
            .optional()
            .describe(
              "Why the file could not be stored: larger than MEDIA_MAX_BYTES, a MAC or hash mismatch (the file is not what the sender sent), a host that is not WhatsApp's, or the download or the store failing after 3 attempts.",
            ),
        })
        .optional()
        .describe('For media messages.'),
      mentions: z.array(z.string()).optional().describe('The JIDs the message mentions (at most 100).'),
      location: z
        .object({
          latitude: z.number(),
          longitude: z.number(),
          name: z.string().optional().describe('The place name (at most 1024 characters).'),
          address: z.string().optional().describe('The address (at most 1024 characters).'),
        })
        .optional()
        .describe('Location messages (live ones too): where.'),
      contacts: z
        .array(z.object({ displayName: z.string().optional(), vcard: z.string().describe('The vCard as sent (at most 16 KiB; larger cards are left out).') }))
        .optional()
        .describe('Contact messages: the cards (at most 20).'),
      poll: z
        .object({
          name: z.string().describe('The question.'),
          options: z.array(z.string()).describe('The options, in order (at most 32).'),
          selectableCount: z.number().int().nonnegative().describe('How many options a voter may pick; 0 = any number.'),
        })
        .optional()
        .describe('Poll messages: the poll created. Votes on it go to its sender, not here.'),
    },
  ),
  poll_vote: messageEvent(
    'poll_vote',
    "Emitted when a contact votes on a poll this session sent (a `send_message` of type poll), or changes or withdraws its vote: the vote decrypted with the poll's secret. Each vote message once (a redelivery re-publishes the same eventId).",
    {
      messageId: messageId.describe('The id of the vote message itself.'),
      pollMessageId: messageId.describe("The poll's id (its message_sent messageId)."),
      chat: z.string().describe('The chat the vote came in (the voter for 1:1 chats, the group for groups).'),
      voter: z
        .object({
          pn: z.string().optional().describe("The voter's phone-number JID, when known."),
          lid: z.string().optional().describe("The voter's LID, when known."),
        })
        .describe('Who voted.'),
      selectedOptions: z
        .array(z.string())
        .describe("The options the voter now has selected (the poll's option texts, in the poll's order); empty: the vote was withdrawn."),
      votedAt: z.number().int().describe('When the vote was cast, epoch ms.'),
    },
  ),
  history_chats: messageEvent(
    'history_chats',
    'Emitted when the history the phone sends after linking lists chats: one event per HISTORY_EVENT_BATCH chats of a chunk, before its messages.',
    {
      ...historyChunk,
      chats: z
        .array(
          z.object({
            jid: z.string().describe('The chat JID (a contact by phone number or LID, or a group).'),
            name: z.string().optional().describe('Its name, when the phone has one.'),
            unreadCount: z.number().int().optional(),
            lastMessageAt: z.number().int().optional().describe('Its last message, epoch ms.'),
            archived: z.boolean().optional(),
            pinned: z.boolean().optional(),
            readOnly: z.boolean().optional(),
          }),
        )
        .describe('At most HISTORY_EVENT_BATCH chats.'),
    },
  ),
  history_contacts: messageEvent(
    'history_contacts',
    'Emitted when the history the phone sends after linking names contacts (address book, push names): one event per HISTORY_EVENT_BATCH contacts of a chunk.',
    {
      ...historyChunk,
      contacts: z
        .array(
          z.object({
            jid: z.string().describe('The contact (phone-number JID or LID) or group.'),
            lid: z.string().optional().describe('Its LID, when WhatsApp told it.'),
            phoneJid: z.string().optional().describe('Its phone-number JID, when WhatsApp told it.'),
            name: z.string().optional().describe('The name in the address book of the phone (or a group subject).'),
            notify: z.string().optional().describe('The name the contact gave itself (push name).'),
            verifiedName: z.string().optional().describe("A business's verified name."),
          }),
        )
        .describe('At most HISTORY_EVENT_BATCH contacts.'),
    },
  ),
  history_sync_progress: messageEvent(
    'history_sync_progress',
    'Emitted when a chunk of the history the phone sends after linking was published: its chats, contacts and messages events are all confirmed by the broker (they come before it, on the same queue).',
    {
      ...historyChunk,
      progress: z.number().optional().describe('Percent of the whole sync done with this chunk, when the phone said.'),
      isLatest: z
        .boolean()
        .describe(
          "The first chunk this linked device processed (Baileys' `isLatest`: false for a chunk the phone sent again after a crash, since Baileys recorded it before the crash).",
        ),
      messages: z.number().int().nonnegative().describe('message_received events published for this chunk (messages already published are not counted).'),
      chats: z.number().int().nonnegative().describe('Chats in the history_chats events of this chunk.'),
      contacts: z.number().int().nonnegative().describe('Contacts in the history_contacts events of this chunk.'),
    },
  ),
};

/**
 * Contacts' presence and profiles, the account's own profile, blocking (issue 12): the answers
 * of subscribe_presence, get_profile, update_profile, block and unblock, and the presence
 * updates of subscribed contacts.
 */
function profileEvents() {
  const requestId = z.string().describe("The command's requestId.");
  const chat = z.string().describe('The contact as the command named it: canonical phone (`+` and its E.164 digits) or JID.');
  const jid = z.string().describe("The contact's JID (`<digits>@s.whatsapp.net` for a phone, or the `…@lid` given).");
  const failure = {
    sessionId: envelope.sessionId.optional(),
    requestId,
    code: z.string().describe('A stable code: UNKNOWN_SESSION, NOT_CONNECTED, WHATSAPP_ERROR (WhatsApp refused or did not answer).'),
    reason: z.string().describe('What went wrong, for a person.'),
  };
  const PROFILE_FIELDS = ['name', 'about', 'picture', 'removePicture'] as const;
  return {
    presence_subscribed: messageEvent(
      'presence_subscribed',
      "Emitted when a `subscribe_presence` was sent to WhatsApp: from now on (until the socket reconnects) the contact's presence and chat states arrive as presence_update. WhatsApp does not confirm a subscription; a contact that hides its presence sends none.",
      { requestId, chat, jid },
    ),
    presence_subscribe_failed: messageEvent('presence_subscribe_failed', 'Emitted when a `subscribe_presence` could not be sent (send again to retry).', {
      ...failure,
      chat,
      jid: jid.optional(),
    }),
    presence_update: messageEvent(
      'presence_update',
      "Emitted when a subscribed contact's presence (available, unavailable, with its last seen) or chat state in a chat with the account (composing, recording; WhatsApp's paused arrives as available) changes. Ephemeral (WhatsApp keeps nothing: a session offline misses them). Coalesced: only a change of state per chat and contact is published, at most 10 per session per second (PRESENCE_UPDATES_PER_SECOND in presence-relay.ts); beyond that each chat's latest state waits for the next second (older intermediate states are dropped).",
      {
        chat: z.string().describe('The chat JID as WhatsApp sent it: the contact (`…@s.whatsapp.net` or `…@lid`), or a group for a member typing there.'),
        from: z
          .object({
            pn: z.string().optional().describe("The contact's phone-number JID, when WhatsApp addressed it so."),
            lid: z.string().optional().describe("The contact's LID, when WhatsApp addressed it so."),
          })
          .describe('Whose presence it is.'),
        presence: z.enum(['available', 'unavailable', 'composing', 'recording', 'paused']),
        lastSeen: z.number().int().optional().describe('unavailable: when the contact was last online, epoch ms, unless it hides it.'),
      },
    ),
    profile_fetched: messageEvent(
      'profile_fetched',
      'Emitted when a `get_profile` was answered by WhatsApp. A picture or about the contact has not set, or hides from this account, is simply absent (not a failure); `business` only for a business account.',
      {
        requestId,
        chat,
        jid,
        pictureUrl: z.string().optional().describe("The full-size profile picture's URL on WhatsApp's media host (short-lived)."),
        about: z.string().optional().describe('The about text.'),
        aboutSetAt: z.number().int().optional().describe('When the about was set, epoch ms.'),
        business: z
          .object({
            description: z.string(),
            category: z.string().optional(),
            email: z.string().optional(),
            website: z.array(z.string()),
            address: z.string().optional(),
          })
          .optional()
          .describe("A business account's profile."),
      },
    ),
    profile_fetch_failed: messageEvent('profile_fetch_failed', 'Emitted when a `get_profile` could not be answered (send again to retry).', {
      ...failure,
      chat,
      jid: jid.optional(),
    }),
    profile_updated: messageEvent(
      'profile_updated',
      "Emitted when an `update_profile` was carried out: every field asked for was taken by WhatsApp (applied in the order picture or removePicture, about, name; the name goes through WhatsApp's app state).",
      { requestId, updated: z.array(z.enum(PROFILE_FIELDS)).describe('The fields changed, in the order applied.') },
    ),
    profile_update_failed: messageEvent(
      'profile_update_failed',
      'Emitted when an `update_profile` could not be carried out in full: `updated` lists what was changed before the failure (picture or removePicture, about, name are applied in that order: a picture that cannot be fetched or decoded changes nothing), `failed` the field that failed. Also INVALID_MEDIA (the picture is not a JPEG/PNG, or could not be decoded), MEDIA_NOT_FOUND, MEDIA_UNAVAILABLE, MEDIA_TOO_LARGE for a picture fetched from `url` or `mediaKey`.',
      {
        ...failure,
        requested: z.array(z.enum(PROFILE_FIELDS)).describe('The fields asked for.'),
        updated: z.array(z.enum(PROFILE_FIELDS)).describe('The fields changed before the failure.'),
        failed: z.enum(PROFILE_FIELDS).optional().describe('The field that failed (absent when nothing was tried, e.g. UNKNOWN_SESSION).'),
      },
    ),
    block_status_changed: messageEvent(
      'block_status_changed',
      'Emitted when a `block` or `unblock` was taken by WhatsApp: the contact is now blocked (or no longer is). A repeat answers again.',
      { requestId, chat, jid, blocked: z.boolean().describe('true after block, false after unblock.') },
    ),
    block_status_failed: messageEvent(
      'block_status_failed',
      "Emitted when a `block` or `unblock` could not be carried out (WHATSAPP_ERROR also when WhatsApp has not told this account the contact's LID, which blocking needs).",
      { ...failure, chat, jid: jid.optional(), blocked: z.boolean().describe('What was asked: true for block, false for unblock.') },
    ),
  };
}

export type MessageEventSchemas = typeof messageEventSchemas;
export type MessageEventAction = keyof MessageEventSchemas;
export type MessageEvent<A extends MessageEventAction = MessageEventAction> = z.infer<MessageEventSchemas[A]>;
export const MESSAGE_EVENT_ACTIONS = Object.keys(messageEventSchemas) as MessageEventAction[];

export const HEALTH_STATUSES = ['HEALTHY', 'RECONNECTING', 'DISCONNECTED', 'LOGGED_OUT', 'BANNED'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const numberHealthSchema = z
  .object({
    numberId: envelope.numberId,
    sessionId: envelope.sessionId,
    workerId: envelope.workerId,
    status: z.enum(HEALTH_STATUSES),
    reason: z.string().optional(),
    timestamp: envelope.timestamp,
    eventId: envelope.eventId,
    requestId: envelope.requestId,
  })
  .describe(
    "Emitted on the number-health queue whenever a number's health changes: HEALTHY when the socket opens, RECONNECTING, DISCONNECTED, LOGGED_OUT, BANNED.",
  );

export type SessionEventSchemas = typeof sessionEventSchemas;
export type SessionEventAction = keyof SessionEventSchemas;
export type SessionEvent<A extends SessionEventAction = SessionEventAction> = z.infer<SessionEventSchemas[A]>;
export type NumberHealthEvent = z.infer<typeof numberHealthSchema>;

export const EVENT_ACTIONS = Object.keys(sessionEventSchemas) as SessionEventAction[];

const workerEvent = <A extends string>(action: A, description: string) =>
  z
    .object({
      action: z.literal(action),
      workerId: envelope.workerId,
      status: z.enum(['online', 'offline']),
      sessionCount: z.number().int().nonnegative().describe('Sessions holding a socket.'),
      connectedCount: z.number().int().nonnegative().describe('Sessions whose socket is open.'),
      maxSessions: z.number().int().positive(),
      cpuUsage: z.number().nonnegative().describe('Process CPU, percent of one core, since the previous report.'),
      memoryUsage: z.number().nonnegative().describe("Process RSS, percent of the machine's memory."),
      rssBytes: z.number().int().nonnegative(),
      uptime: z.number().nonnegative().describe('Seconds since the process started.'),
      messageCount: z.number().int().nonnegative().describe('WhatsApp messages sent and received since start.'),
      version: z.string().describe("The worker's version."),
      pacing: z
        .array(
          z.object({
            numberId: envelope.numberId,
            queued: z.number().int().nonnegative().describe('Paced sends held by the worker, waiting for their time (unacked deliveries).'),
            delayed: z.number().int().nonnegative().describe('Paced sends this process put in its delay queue that have not come back yet.'),
            oldestAgeMs: z.number().int().nonnegative().describe('How long the oldest held send has waited, ms.'),
          }),
        )
        .max(20)
        .optional()
        .describe('Send pacing: the numbers most behind (oldest held send first), at most 20; absent when no number has a paced send waiting.'),
      timestamp: envelope.timestamp,
      eventId: envelope.eventId,
    })
    .describe(description);

export const workerEventSchemas = {
  worker_online: workerEvent('worker_online', 'Emitted when a worker process has started and holds its command queue.'),
  worker_heartbeat: workerEvent('worker_heartbeat', 'Emitted when a heartbeat is due (every HEARTBEAT_INTERVAL_MS, 30 s by default).'),
  worker_offline: workerEvent('worker_offline', 'Emitted when a worker stops gracefully, after its sessions were released.'),
};
export type WorkerEventAction = keyof typeof workerEventSchemas;
export type WorkerEvent = z.infer<(typeof workerEventSchemas)[WorkerEventAction]>;

/**
 * Changes to groups the account is in (issue 13), from WhatsApp's `w:gp2` notifications: the eventId
 * derives from the notification's id (a redelivered notification is the same event).
 */
function groupNotificationEvents() {
  const group = z.string().describe('The group JID (`…@g.us`).');
  const member = z
    .object({
      pn: z.string().optional().describe("The member's phone-number JID, when WhatsApp told it."),
      lid: z.string().optional().describe("The member's LID, when WhatsApp told it."),
      admin: z.enum(['admin', 'superadmin']).nullable().optional().describe('Its role, when told (null: a plain member).'),
    })
    .describe('A group member.');
  const by = member.optional().describe('Who did it (the actor of the notification), when WhatsApp said.');
  const notificationId = z.string().describe("WhatsApp's id of the notification (the eventId derives from it).");
  return {
    group_joined: messageEvent(
      'group_joined',
      'Emitted when the account is in a new group: someone (or the account, from another device or create_group) created it with the account in it, or added the account to it.',
      {
        group,
        notificationId,
        how: z.enum(['created', 'added']).describe('created: a new group; added: an existing group the account was added to.'),
        subject: z.string().optional().describe("The group's subject, when known."),
        participantCount: z.number().int().nonnegative().optional().describe('How many members it has, when known (always for created).'),
        participants: z.array(member).optional().describe('Its members (created: as WhatsApp sent them, at most 1024).'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
    group_updated: messageEvent(
      'group_updated',
      "Emitted when a group's subject, description, settings (announce, locked, member add mode, join approval), disappearing-messages timer or invite link changed; only what changed is set.",
      {
        group,
        notificationId,
        changes: z
          .object({
            subject: z.string().optional(),
            description: z.string().nullable().optional().describe('null: cleared.'),
            announce: z.boolean().optional().describe('Only admins may send.'),
            locked: z.boolean().optional().describe("Only admins may edit the group's info."),
            ephemeralSeconds: z.number().int().nonnegative().optional().describe('Disappearing messages timer, seconds (0: off).'),
            inviteCode: z.string().optional().describe('The new invite code (the link was reset).'),
            memberAddMode: z.enum(['all_member_add', 'admin_add']).optional().describe('Who may add members.'),
            joinApproval: z.boolean().optional().describe("New members need an admin's approval."),
          })
          .describe('What changed.'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
    group_participants_changed: messageEvent(
      'group_participants_changed',
      'Emitted when members were added to, removed from, promoted or demoted in a group the account is in, or left it (the account itself included: removed or left means the account is out).',
      {
        group,
        notificationId,
        change: z.enum(['added', 'removed', 'left', 'promoted', 'demoted']),
        participants: z.array(member).describe('The members concerned (at most 1024).'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
    group_membership_request: messageEvent(
      'group_membership_request',
      'Emitted when someone asks to join a group the account administers (created), withdraws the request (revoked) or an admin rejected it (rejected).',
      {
        group,
        notificationId,
        request: z.enum(['created', 'revoked', 'rejected']),
        participant: member.describe('Who asks to join.'),
        method: z.string().optional().describe('How, as WhatsApp says (e.g. invite_link, linked_group_join, non_admin_add).'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
  };
}
