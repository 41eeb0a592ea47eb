import { z } from 'zod';
import { COMMAND_ACTIONS, MESSAGE_TYPES, PRESENCE_STATES } from './command.js';
import { HISTORY_SYNC_MODES, PACING_LIMITS, REJECT_CALL_MESSAGE_MAX } from '../util/session-settings.js';
import { PROXY_URL_MAX, parseProxyUrl } from '../util/proxy-url.js';

/**
 * The wire shape of a command as the backend publishes it. Any field may sit at the top level
 * or inside `data` (the backend's `RabbitMQService.sendSessionUpdate` nests them); ids may be
 * strings or numbers. This schema is also the source of the AsyncAPI document.
 */
const numericId = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[0-9]{1,15}$/, 'digits only')])
  .transform((v) => Number(v));

const workerId = z
  .union([z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only (at most 64)'), z.number().int().nonnegative()])
  .transform((v) => String(v));

export const commandFieldsSchema = z.object({
  numberId: numericId.optional().describe("The backend's id of the WhatsApp number."),
  phoneNumber: z
    .string()
    .max(32)
    .optional()
    .describe(
      'The number in international form, e.g. "+221771234567" (also 221771234567, 00221771234567, spaces, dots, dashes and parentheses): one canonical form, + and its E.164 digits. A national number with a leading 0 is refused.',
    ),
  sessionId: z
    .union([z.string().max(200), z.number().int().nonnegative()])
    .optional()
    .describe(
      "Either this worker's session id (`session_<numberId>_<phone>`), the backend's own session reference, or (top level, as the backend sends it) the numberId.",
    ),
  workerId: workerId.optional().describe('The worker that must execute the command. Omitted: whichever worker receives it.'),
  handoverTo: workerId
    .optional()
    .describe('`release` only: the worker that takes the session over (workers send this to each other when the backend reassigns a number).'),
  requestId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'Echoed on every event the command causes (the AMQP correlation_id is used when absent). Required by `send_message` (a redelivered send with the same requestId is not sent twice), `check_numbers`, `mark_read`, `send_presence`, `reject_call`, `update_settings`, `edit_message`, `delete_message` the profile and group commands (their answer carries it; a redelivered edit or delete is not done twice).',
    ),
  timestamp: z
    .union([z.number(), z.string().max(64)])
    .optional()
    .describe(
      'When the backend issued the command: epoch ms, epoch seconds (< 1e12), or ISO 8601 with a zone. Older than COMMAND_MAX_AGE_MS (or ahead by more than COMMAND_MAX_CLOCK_SKEW_MS): refused as STALE. 0, or a time without a zone, is not judged.',
    ),
});

/**
 * What `send_message` adds. Exactly one of `url`, `base64` or `mediaKey` for a media type.
 * `parse-command.ts` checks the combinations and names the field that is wrong.
 */
export const sendMessageFieldsSchema = z.object({
  to: z.string().min(1).max(100).describe('send_message: a phone number ("+221770000001") or a JID (`…@s.whatsapp.net`, `…@lid`, group `…@g.us`).'),
  type: z.enum(MESSAGE_TYPES).describe('send_message: what to send.'),
  text: z.string().min(1).max(65_536).optional().describe('send_message, type text: the text; edit_message: the new text.'),
  url: z
    .string()
    .max(4096)
    .regex(/^https?:\/\//i, 'an http:// or https:// URL')
    .optional()
    .describe('send_message, media: fetch the file from this URL.'),
  base64: z.string().optional().describe('send_message, media: the file itself, base64 (at most MEDIA_MAX_BYTES once decoded).'),
  mediaKey: z.string().min(1).max(1024).optional().describe('send_message, media: a key in the media store, e.g. `media/<sessionId>/images/<messageId>.jpg`.'),
  mimeType: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+$/, 'a MIME type such as image/jpeg')
    .max(255)
    .optional()
    .describe('send_message, media: the MIME type (required for documents).'),
  caption: z.string().max(4096).optional().describe('send_message, image/video/document: a caption.'),
  fileName: z.string().min(1).max(255).optional().describe('send_message, document: the file name shown (required for documents).'),
  ptt: z.boolean().optional().describe('send_message, audio: true to send a voice note.'),
  replyTo: z.string().min(1).max(128).optional().describe('send_message (every type but reaction): the WhatsApp id of a message to reply to.'),
  mentions: z
    .array(z.string().max(100))
    .optional()
    .describe(
      'send_message (text, media, location, contact): the people mentioned, as phones (international form) or JIDs (`…@s.whatsapp.net`, `…@lid`), at most 100, each once. Not for poll or reaction.',
    ),
  latitude: z.number().optional().describe('send_message, location: degrees, -90 to 90.'),
  longitude: z.number().optional().describe('send_message, location: degrees, -180 to 180.'),
  name: z.string().max(1024).optional().describe('send_message, location: the place name (at most 256); poll: the question (1 to 255).'),
  address: z.string().max(1024).optional().describe('send_message, location: the address shown (at most 512).'),
  contacts: z
    .array(z.object({ displayName: z.string().max(1024).optional(), vcard: z.string().max(65_536) }))
    .optional()
    .describe(
      'send_message, contact: 1 to 20 cards, each `{ displayName?, vcard }`; the vCard is `BEGIN:VCARD` … `END:VCARD`, at most 16 KiB; displayName (at most 256) defaults to its FN line.',
    ),
  options: z.array(z.string().max(1024)).optional().describe('send_message, poll: 2 to 12 distinct options, each 1 to 100 characters (as in WhatsApp).'),
  selectableCount: z
    .number()
    .int()
    .optional()
    .describe('send_message, poll: how many options a voter may pick, 0 (any number, the default) to the number of options; 1 makes a single-choice poll.'),
  emoji: z.string().max(64).optional().describe('send_message, reaction: one emoji; "" removes our reaction.'),
  messageId: z.string().max(200).optional().describe('send_message, reaction: the WhatsApp id of the message reacted to, in the chat `to`.'),
  fromMe: z.boolean().optional().describe('send_message, reaction: whether the message reacted to is ours (default: as this worker remembers it, else false).'),
  participant: z.string().max(100).optional().describe('send_message, reaction in a group: who sent the message reacted to (a phone or a JID).'),
});

/** What `check_numbers` adds. `parse-command.ts` checks each phone and the batch size. */
export const checkNumbersFieldsSchema = z.object({
  phones: z
    .array(z.string().max(64))
    .describe(
      'check_numbers: the phones to look up on WhatsApp, in international form (the spellings `phoneNumber` accepts), 1 to CHECK_NUMBERS_MAX_BATCH (50) of them; a phone given twice is answered once.',
    ),
});

/** What `mark_read` and `send_presence` add. `parse-mark-read.ts` and `parse-send-presence.ts` check the combinations. */
export const chatActionFieldsSchema = z.object({
  chat: z
    .string()
    .max(64)
    .describe(
      'mark_read: the chat whose messages were read, a phone in international form (answered canonical) or a JID: a user (`…@s.whatsapp.net`, `…@lid`) or a group (`…@g.us`). send_presence: the contact a chat state (composing, recording, paused) is for. A phone in international form (the spellings `phoneNumber` accepts). subscribe_presence, get_profile, block, unblock: the contact, that phone or its JID (`…@s.whatsapp.net`, `…@lid`). edit_message, delete_message: the chat the message is in, a phone or a JID (as `to` of send_message).',
    ),
  messageIds: z
    .array(z.string().max(200))
    .describe(
      'mark_read: the WhatsApp ids (`key.id`, as in message_received) of the messages read, 1 to 100, letters and digits, at most 128 characters each. Exactly one of `messageIds` and `upTo`.',
    ),
  upTo: z
    .string()
    .max(200)
    .describe(
      'mark_read: instead of `messageIds`, the id of the last message read: every message this session received in `chat` and has not marked read, up to and including that one, is marked read (only that one when the session does not remember it, e.g. after a restart: `messages_read` says so).',
    ),
  state: z
    .string()
    .max(32)
    .describe(
      `send_presence: one of ${PRESENCE_STATES.join(', ')}. available/unavailable are the account's presence (no \`chat\`); composing/recording/paused need \`chat\`.`,
    ),
});

/** What `reject_call` adds. `parse-calls-settings.ts` checks both. */
export const rejectCallFieldsSchema = z.object({
  callId: z.string().max(200).describe('reject_call: the call to reject, the `callId` of its call_received (letters, digits, - and _, at most 128).'),
  from: z
    .string()
    .max(100)
    .describe('reject_call: the caller, as call_received gave it in `from`: its phone-number JID (`…@s.whatsapp.net`) or LID (`…@lid`), or a phone number.'),
});

const pacingInt = (key: keyof typeof PACING_LIMITS, description: string) =>
  z.number().int().min(PACING_LIMITS[key].min).max(PACING_LIMITS[key].max).optional().describe(description);

/** settings.pacing: each field optional (absent: PACING_*); unknown fields are refused. */
export const pacingSettingsSchema = z.strictObject({
  perMinute: pacingInt('perMinute', 'Sends per minute, sustained (0: no pacing; default PACING_PER_MINUTE).'),
  burst: pacingInt('burst', 'Sends that may leave back to back after a quiet spell (default PACING_BURST).'),
  minGapMs: pacingInt('minGapMs', 'Least time between two sends, ms (default PACING_MIN_GAP_MS).'),
  jitterMs: pacingInt('jitterMs', 'Up to this much random extra wait before each send, ms (default PACING_JITTER_MS).'),
  typing: z
    .boolean()
    .optional()
    .describe('Show `composing` to the recipient before each text for a time proportional to its length (bounded), then `paused` (default PACING_TYPING).'),
});

/** A number's own settings; every field optional, `null` puts it back to the worker's default. Unknown fields are refused. */
export const sessionSettingsSchema = z
  .strictObject({
    rejectCalls: z.boolean().nullable().optional().describe('Reject every incoming call as it rings (default SESSION_REJECT_CALLS).'),
    rejectCallMessage: z
      .string()
      .min(1)
      .max(REJECT_CALL_MESSAGE_MAX)
      .nullable()
      .optional()
      .describe(
        `With rejectCalls: a text (1 to ${REJECT_CALL_MESSAGE_MAX} characters) sent to the caller after the reject (default SESSION_REJECT_CALL_MESSAGE).`,
      ),
    autoRead: z
      .boolean()
      .nullable()
      .optional()
      .describe('Send read receipts for incoming messages once their message_received is confirmed (default SESSION_AUTO_READ).'),
    alwaysOnline: z
      .boolean()
      .nullable()
      .optional()
      .describe('Announce the account `available` on every connect (needs the push name WhatsApp tells the account; default SESSION_ALWAYS_ONLINE).'),
    historySync: z
      .enum(HISTORY_SYNC_MODES)
      .nullable()
      .optional()
      .describe(
        'What the session asks WhatsApp for when it links: none, recent or full history (default SESSION_HISTORY_SYNC). Takes effect at the next link.',
      ),
    pacing: pacingSettingsSchema
      .nullable()
      .optional()
      .describe(
        'How the number\'s sends leave (README "Send pacing"): the fields given override the PACING_* defaults, the others follow them; a new `pacing` replaces the previous one; null: back to PACING_*.',
      ),
    proxy: z
      .string()
      .max(PROXY_URL_MAX)
      .superRefine((v, ctx) => {
        const parsed = parseProxyUrl(v);
        // the message never repeats the value: it may hold a password
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
      })
      .nullable()
      .optional()
      .describe(
        'The proxy the number\'s WhatsApp socket and media transfers go through (README "Proxies"): socks5://, socks5h://, socks://, http:// or https:// (CONNECT), optional user:password@, no path; at a public address, or a private one PROXY_ALLOWED_HOSTS allows (an IP literal refused: INVALID_COMMAND; a name refused at connect: disconnected with proxyFailure proxy_not_allowed). Stored encrypted with the session; events show it without its password. Takes effect at once: a running session reconnects through it. null: back to PROXY_URL.',
      ),
  })
  .describe("create / update_settings: the number's own settings, stored with its session (they survive restarts).");

/** What `create` and `update_settings` add. */
export const settingsFieldsSchema = z.object({
  settings: sessionSettingsSchema,
});

/** What `update_profile` adds (`chat` names the contact of the other profile commands). `parse-profile-commands.ts` checks the combinations. */
export const profileFieldsSchema = z.object({
  // One wire field for three commands (the schemas are merged, the last definition wins): say all three.
  name: z
    .string()
    .max(1024)
    .optional()
    .describe(
      'send_message, location: the place name (at most 256); poll: the question (1 to 255). update_profile: the push name contacts see, 1 to 25 characters.',
    ),
  about: z.string().max(4000).optional().describe('update_profile: the about text, at most 139 characters ("" clears it).'),
  picture: z
    .object({
      url: sendMessageFieldsSchema.shape.url,
      base64: sendMessageFieldsSchema.shape.base64,
      mediaKey: sendMessageFieldsSchema.shape.mediaKey,
      mimeType: sendMessageFieldsSchema.shape.mimeType,
    })
    .optional()
    .describe(
      "update_profile (the account's), update_group (the group's): the new profile picture, a JPEG or PNG, from exactly one of `url`, `base64` or `mediaKey` (as send_message media: same address policy and MEDIA_MAX_BYTES); WhatsApp stores it as a 640×640 JPEG.",
    ),
  removePicture: z.boolean().optional().describe('update_profile, update_group: true to remove the profile picture (not with `picture`).'),
});

/** What `edit_message` and `delete_message` add (`chat`, and `text` for an edit, are shared). `parse-edit-delete.ts` checks the combinations. */
export const editDeleteFieldsSchema = z.object({
  messageId: z
    .string()
    .max(200)
    .describe(
      'edit_message, delete_message: the WhatsApp id of the message (`messageId` of message_sent, or of message_received for an admin revoke), letters and digits, at most 128 characters. send_message, reaction: the id of the message reacted to, in the chat `to`.',
    ),
  fromMe: z
    .boolean()
    .describe(
      "delete_message: true (default) to revoke this session's own message; false, in a group only, to revoke a member's message as a group admin (with `participant`). send_message, reaction: whether the message reacted to is ours (default: as this worker remembers it, else false).",
    ),
  participant: z
    .string()
    .max(100)
    .describe(
      "delete_message, `fromMe` false: the group member who sent the message (a phone, a user JID or a LID, as in message_received's `participant`). send_message, reaction in a group: who sent the message reacted to. mark_read, group `chat` only: the member who sent the messages, for ids whose sender this session does not remember.",
    ),
});

/** What the group commands add (issue 13). `parse-group-commands.ts` checks which command takes which. */
export const groupFieldsSchema = z.object({
  group: z.string().max(100).describe("update_group, group_participants, group_invite, leave_group, get_group, group_requests: the group's JID (`…@g.us`)."),
  subject: z.string().max(1024).describe("create_group (required), update_group: the group's name, 1 to 100 characters."),
  description: z.string().max(8192).describe('update_group: the group description, at most 2048 characters ("" clears it).'),
  participants: z
    .array(z.string().max(100))
    .max(2048)
    .describe(
      'create_group, group_participants, group_requests (approve, reject): phones in international form or user JIDs (`…@s.whatsapp.net`, `…@lid`), 1 to 1024, duplicates dropped.',
    ),
  operation: z
    .string()
    .max(20)
    .describe('group_participants: what to do to each participant: add, remove, promote (to admin) or demote. group_requests: list, approve or reject.'),
  announce: z.boolean().describe('update_group: true = only admins send messages.'),
  locked: z.boolean().describe("update_group: true = only admins edit the group's info."),
  ephemeral: z.number().describe('update_group: disappearing messages, in seconds: 0 (off), 86400, 604800 or 7776000.'),
  revoke: z.boolean().describe('group_invite: true to revoke the current invite code and get a new one.'),
  code: z.string().max(200).describe('join_group, group_invite_info: the invite code, or its `https://chat.whatsapp.com/<code>` link.'),
});

export const commandMessageSchema = commandFieldsSchema
  .extend(sendMessageFieldsSchema.partial().shape)
  .extend(checkNumbersFieldsSchema.partial().shape)
  .extend(chatActionFieldsSchema.partial().shape)
  .extend(rejectCallFieldsSchema.partial().shape)
  .extend(settingsFieldsSchema.partial().shape)
  .extend(profileFieldsSchema.shape)
  .extend(editDeleteFieldsSchema.partial().shape)
  .extend(groupFieldsSchema.partial().shape)
  .extend({
    action: z
      .enum(COMMAND_ACTIONS)
      .describe(
        'What to do: a session action, `send_message`, `check_numbers`, `mark_read`, `send_presence`, `edit_message`, `delete_message`, `reject_call`, `update_settings`, or a profile command (`subscribe_presence`, `get_profile`, `update_profile`, `block`, `unblock`), or a group command (`create_group`, `update_group`, `group_participants`, `group_invite`, `join_group`, `group_invite_info`, `leave_group`, `list_groups`, `get_group`, `group_requests`).',
      ),
    data: commandFieldsSchema
      .extend(sendMessageFieldsSchema.shape)
      .extend(checkNumbersFieldsSchema.shape)
      .extend(chatActionFieldsSchema.shape)
      .extend(rejectCallFieldsSchema.shape)
      .extend(settingsFieldsSchema.shape)
      .extend(profileFieldsSchema.shape)
      .extend(editDeleteFieldsSchema.shape)
      .extend(groupFieldsSchema.shape)
      .partial()
      .loose()
      .optional()
      .describe('The same fields, nested (they win over top-level ones).'),
  })
  .loose()
  .describe('A command for a WhatsApp session, published by the backend.');

export type CommandMessage = z.infer<typeof commandMessageSchema>;
