/**
 * The commands the worker accepts, after normalisation. `parse-command.ts` turns whatever the
 * backend sent (fields at the top level or inside `data`, ids as strings or numbers) into one
 * of these.
 */
export const SESSION_ACTIONS = ['create', 'disconnect', 'reconnect', 'logout', 'delete', 'status', 'request_pairing_code', 'release'] as const;
export type SessionAction = (typeof SESSION_ACTIONS)[number];

export const MESSAGE_ACTIONS = ['send_message', 'check_numbers', 'mark_read', 'send_presence', 'edit_message', 'delete_message'] as const;
export type MessageAction = (typeof MESSAGE_ACTIONS)[number];

export const COMMAND_ACTIONS = [...SESSION_ACTIONS, ...MESSAGE_ACTIONS] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

/** What every command carries: who it is for and how to answer. */
interface CommandBase {
  numberId: number;
  /** In canonical form (`+` and E.164 digits), when the command carried one; `create` and `request_pairing_code` always do. */
  phoneNumber: string | undefined;
  /** `session_<numberId>_<phone>` when the phone is known; otherwise resolved from the sessions this worker knows. */
  sessionId: string | undefined;
  /** The worker the command is addressed to; undefined = whoever takes it. */
  workerId: string | undefined;
  /** Echoed on every event the command causes. */
  requestId: string | undefined;
  /** The backend's own session reference (e.g. `session_6_2533b0aa`), kept for correlation. */
  backendSessionId: string | undefined;
  /** When the backend issued the command (epoch ms), if it said. */
  issuedAt: number | undefined;
}

export interface SessionCommand extends CommandBase {
  action: SessionAction;
  /** `release`: the worker that takes the session over (it becomes the recorded owner). */
  handoverTo?: string | undefined;
}

export const MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document'] as const;
export type OutgoingMessageType = (typeof MESSAGE_TYPES)[number];
export type MediaMessageType = Exclude<OutgoingMessageType, 'text'>;

/** Where the bytes of an outgoing media message come from. */
export type MediaSource =
  | { kind: 'url'; url: string }
  | { kind: 'base64'; data: Buffer }
  /** A key in the media store (e.g. a received file, or one the backend uploaded). */
  | { kind: 'mediaKey'; key: string };

export type OutgoingMessage =
  | { type: 'text'; text: string }
  | {
      type: MediaMessageType;
      media: MediaSource;
      mimeType: string | undefined;
      caption: string | undefined;
      /** Documents: the name shown to the recipient. */
      fileName: string | undefined;
      /** Audio: send as a voice note. */
      ptt: boolean;
    };

export interface SendMessageCommand extends CommandBase {
  action: 'send_message';
  /** Always set: the id that makes a redelivered send idempotent. */
  requestId: string;
  /** The recipient as sent: a phone number or a JID. */
  to: string;
  /** The recipient as a JID (`…@s.whatsapp.net`, `…@lid`, `…@g.us`). */
  toJid: string;
  message: OutgoingMessage;
  /** The id of a message to reply to (quote). */
  replyTo: string | undefined;
}

export interface CheckNumbersCommand extends CommandBase {
  action: 'check_numbers';
  /** Always set: the `numbers_checked` (or `numbers_check_failed`) event answers it. */
  requestId: string;
  /** The phones to look up, canonical (`+` and E.164 digits), each once, in the order first asked. */
  phones: string[];
}

/** What `send_presence` may announce: the account's presence, or a chat state in one chat. */
export const PRESENCE_STATES = ['available', 'unavailable', 'composing', 'recording', 'paused'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];
/** The states that are about one chat (`chat` required); the others are the account's (`chat` forbidden). */
export const CHAT_PRESENCE_STATES = ['composing', 'recording', 'paused'] as const satisfies readonly PresenceState[];

export interface MarkReadCommand extends CommandBase {
  action: 'mark_read';
  /** Always set: the `messages_read` (or `mark_read_failed`) event answers it. */
  requestId: string;
  /** The contact whose messages are read, canonical (`+` and E.164 digits). */
  chat: string;
  /** The WhatsApp ids of the contact's messages, each once, in the order given. */
  messageIds: string[];
}

export interface SendPresenceCommand extends CommandBase {
  action: 'send_presence';
  /** Always set: the `presence_sent` (or `presence_failed`) event answers it. */
  requestId: string;
  state: PresenceState;
  /** The contact the chat state is for, canonical; set exactly for composing, recording and paused. */
  chat: string | undefined;
}

export interface EditMessageCommand extends CommandBase {
  action: 'edit_message';
  /** Always set: the `message_edit_sent` (or `message_edit_failed`) event answers it, and a redelivery does not edit twice. */
  requestId: string;
  /** The chat as sent: a phone number or a JID. */
  chat: string;
  /** The chat as a JID (`…@s.whatsapp.net`, `…@lid`, `…@g.us`). */
  chatJid: string;
  /** The WhatsApp id of the message this session sent. */
  messageId: string;
  /** The new text. */
  text: string;
}

export interface DeleteMessageCommand extends CommandBase {
  action: 'delete_message';
  /** Always set: the `message_deleted` (or `message_delete_failed`) event answers it, and a redelivery does not revoke twice. */
  requestId: string;
  /** The chat as sent: a phone number or a JID. */
  chat: string;
  /** The chat as a JID (`…@s.whatsapp.net`, `…@lid`, `…@g.us`). */
  chatJid: string;
  /** The WhatsApp id of the message to revoke for everyone. */
  messageId: string;
  /** The message is this session's own; false only in groups, where an admin revokes a member's message. */
  fromMe: boolean;
  /** Groups, `fromMe` false: the member who sent it (a user JID or LID). */
  participant: string | undefined;
}

export type Command =
  SessionCommand | SendMessageCommand | CheckNumbersCommand | MarkReadCommand | SendPresenceCommand | EditMessageCommand | DeleteMessageCommand;
