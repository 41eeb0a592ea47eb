import { z } from 'zod';
import { COMMAND_ACTIONS, MESSAGE_TYPES, PRESENCE_STATES } from './command.js';

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
      'Echoed on every event the command causes (the AMQP correlation_id is used when absent). Required by `send_message` (a redelivered send with the same requestId is not sent twice), `check_numbers`, `mark_read`, `send_presence`, `edit_message` and `delete_message` (their answer carries it; a redelivered edit or delete is not done twice).',
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
  replyTo: z.string().min(1).max(128).optional().describe('send_message: the WhatsApp id of a message to reply to.'),
});

/** What `check_numbers` adds. `parse-command.ts` checks each phone and the batch size. */
export const checkNumbersFieldsSchema = z.object({
  phones: z
    .array(z.string().max(64))
    .describe(
      'check_numbers: the phones to look up on WhatsApp, in international form (the spellings `phoneNumber` accepts), 1 to CHECK_NUMBERS_MAX_BATCH (50) of them; a phone given twice is answered once.',
    ),
});

/** What `mark_read` and `send_presence` add. `parse-chat-actions.ts` checks the combinations. */
export const chatActionFieldsSchema = z.object({
  chat: z
    .string()
    .max(64)
    .describe(
      'mark_read: the contact whose messages were read; send_presence: the contact a chat state (composing, recording, paused) is for. A phone in international form (the spellings `phoneNumber` accepts). edit_message, delete_message: the chat the message is in, a phone or a JID (as `to` of send_message).',
    ),
  messageIds: z
    .array(z.string().max(200))
    .describe(
      'mark_read: the WhatsApp ids (`key.id`, as in message_received) of the messages read, 1 to 100, letters and digits, at most 128 characters each.',
    ),
  state: z
    .string()
    .max(32)
    .describe(
      `send_presence: one of ${PRESENCE_STATES.join(', ')}. available/unavailable are the account's presence (no \`chat\`); composing/recording/paused need \`chat\`.`,
    ),
});

/** What `edit_message` and `delete_message` add (`chat`, and `text` for an edit, are shared). `parse-edit-delete.ts` checks the combinations. */
export const editDeleteFieldsSchema = z.object({
  messageId: z
    .string()
    .max(200)
    .describe(
      'edit_message, delete_message: the WhatsApp id of the message (`messageId` of message_sent, or of message_received for an admin revoke), letters and digits, at most 128 characters.',
    ),
  fromMe: z
    .boolean()
    .describe(
      "delete_message: true (default) to revoke this session's own message; false, in a group only, to revoke a member's message as a group admin (with `participant`).",
    ),
  participant: z
    .string()
    .max(64)
    .describe("delete_message, `fromMe` false: the group member who sent the message (a phone, a user JID or a LID, as in message_received's `participant`)."),
});

export const commandMessageSchema = commandFieldsSchema
  .extend(sendMessageFieldsSchema.partial().shape)
  .extend(checkNumbersFieldsSchema.partial().shape)
  .extend(chatActionFieldsSchema.partial().shape)
  .extend(editDeleteFieldsSchema.partial().shape)
  .extend({
    action: z
      .enum(COMMAND_ACTIONS)
      .describe('What to do: a session action, `send_message`, `check_numbers`, `mark_read`, `send_presence`, `edit_message` or `delete_message`.'),
    data: commandFieldsSchema
      .extend(sendMessageFieldsSchema.shape)
      .extend(checkNumbersFieldsSchema.shape)
      .extend(chatActionFieldsSchema.shape)
      .extend(editDeleteFieldsSchema.shape)
      .partial()
      .loose()
      .optional()
      .describe('The same fields, nested (they win over top-level ones).'),
  })
  .loose()
  .describe('A command for a WhatsApp session, published by the backend.');

export type CommandMessage = z.infer<typeof commandMessageSchema>;
