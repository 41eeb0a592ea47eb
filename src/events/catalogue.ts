import { z } from 'zod';
import { PROXY_FAILURES } from '../util/proxy-url.js';
import { callSettingsEvents } from './call-settings-events.js';
import { changeEvents } from './change-events.js';
import { envelope, messageEvent, messageId, sessionEvent } from './event-envelope.js';
import { groupEvents } from './group-events.js';
import { groupNotificationEvents } from './group-notification-events.js';
import { historyEvents } from './history-events.js';
import { profileEvents } from './profile-events.js';

export { HISTORY_SYNC_TYPES, type HistorySyncType } from './history-events.js';

/**
 * Every event the worker publishes: one schema each, documented with when it is emitted.
 * The publisher validates against these, and `scripts/generate-asyncapi.ts` turns them into
 * `docs/asyncapi.json` (a test keeps the two in sync).
 */

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
    proxyFailure: z
      .enum(PROXY_FAILURES)
      .optional()
      .describe(
        "The number's proxy did not carry the connection (the worker retries through it, never directly): unreachable, credentials refused, it would not open the connection to WhatsApp, or (proxy_not_allowed) the proxy a command named is at a private address PROXY_ALLOWED_HOSTS does not allow (no connection was made).",
      ),
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

export const MESSAGE_STATUSES = ['server_ack', 'delivered', 'read', 'played', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** What `send_message` may send (its `type`), and what `message_sent` reports. */
export const SENT_MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contact', 'poll', 'reaction'] as const;

export const RECEIVED_MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contact', 'reaction', 'poll', 'other'] as const;
export type ReceivedMessageType = (typeof RECEIVED_MESSAGE_TYPES)[number];

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
  ...callSettingsEvents(),
  ...profileEvents(),
  ...groupEvents(envelope),
  ...groupNotificationEvents(),
  ...changeEvents(),
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
  ...historyEvents(),
};

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
