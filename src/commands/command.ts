import { SENT_MESSAGE_TYPES } from '../events/catalogue.js';
import type { SessionSettingsPatch } from '../util/session-settings.js';

/**
 * The commands the worker accepts, after normalisation. `parse-command.ts` turns whatever the
 * backend sent (fields at the top level or inside `data`, ids as strings or numbers) into one
 * of these.
 */
export const SESSION_ACTIONS = ['create', 'disconnect', 'reconnect', 'logout', 'delete', 'status', 'request_pairing_code', 'release'] as const;
export type SessionAction = (typeof SESSION_ACTIONS)[number];

/** Contacts' presence and profiles, the account's own profile, blocking (answered commands, issue 12). */
export const PROFILE_ACTIONS = ['subscribe_presence', 'get_profile', 'update_profile', 'block', 'unblock'] as const;
export type ProfileAction = (typeof PROFILE_ACTIONS)[number];

/** Group administration (answered commands, issue 13; see parse-group-commands.ts). */
export const GROUP_ACTIONS = [
  'create_group',
  'update_group',
  'group_participants',
  'group_invite',
  'join_group',
  'group_invite_info',
  'leave_group',
  'list_groups',
  'get_group',
  'group_requests',
] as const;
export type GroupAction = (typeof GROUP_ACTIONS)[number];

export const MESSAGE_ACTIONS = [
  'send_message',
  'check_numbers',
  'mark_read',
  'send_presence',
  'reject_call',
  'update_settings',
  'edit_message',
  'delete_message',
  ...PROFILE_ACTIONS,
  ...GROUP_ACTIONS,
] as const;
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
  /** `create`: the number's own settings to store with the session (the fields given; see `update_settings`). */
  settings?: SessionSettingsPatch | undefined;
}

/** The catalogue's list: message_sent reports the same types (commands may use events' constants, not the reverse). */
export const MESSAGE_TYPES = SENT_MESSAGE_TYPES;
export type OutgoingMessageType = (typeof MESSAGE_TYPES)[number];
export const MEDIA_MESSAGE_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const satisfies readonly OutgoingMessageType[];
export type MediaMessageType = (typeof MEDIA_MESSAGE_TYPES)[number];

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
    }
  | OutgoingKindMessage;

/** The kinds that are neither text nor media (parse-message-kinds.ts). */
export type OutgoingKindMessage =
  | { type: 'location'; latitude: number; longitude: number; name: string | undefined; address: string | undefined }
  /** One or more contact cards, each a vCard (`BEGIN:VCARD` … `END:VCARD`). */
  | { type: 'contact'; contacts: Array<{ displayName: string | undefined; vcard: string }> }
  /** `selectableCount` 0 = any number of options; options are distinct. */
  | { type: 'poll'; name: string; options: string[]; selectableCount: number }
  /**
   * An emoji on the message `messageId` of the chat `to` ('' removes our reaction). `fromMe`
   * (whose message it is) and `participant` (groups: who sent it) complete the target's key.
   */
  | { type: 'reaction'; messageId: string; emoji: string; fromMe: boolean | undefined; participant: string | undefined };

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
  /** JIDs mentioned (`…@s.whatsapp.net` or `…@lid`), each once; undefined when none. */
  mentions?: string[] | undefined;
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
  /** The chat as answered: a phone canonical (`+` and E.164 digits) or a user, LID or group JID. */
  chat: string;
  /** The chat as WhatsApp routes it (`…@s.whatsapp.net`, `…@lid`, `…@g.us`). */
  chatJid: string;
  /** The WhatsApp ids of the messages, each once, in the order given; exactly one of `messageIds` and `upTo` is set. */
  messageIds?: string[] | undefined;
  /** Every unread message of the chat up to and including this one (see messaging/unread-ledger.ts). */
  upTo?: string | undefined;
  /** Groups: the member who sent the messages (a person's JID), for ids whose sender the session does not know. */
  participant?: string | undefined;
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

export interface RejectCallCommand extends CommandBase {
  action: 'reject_call';
  /** Always set: the `call_rejected` (or `call_reject_failed`) event answers it. */
  requestId: string;
  /** The call's id, as `call_received` gave it. */
  callId: string;
  /** The caller as `call_received` gave it: a phone-number JID or a LID (a phone is turned into its JID). */
  from: string;
}

export interface UpdateSettingsCommand extends CommandBase {
  action: 'update_settings';
  /** Always set: the `settings_updated` (or `settings_update_failed`) event answers it. */
  requestId: string;
  /** The fields to change (at least one); `null` puts a field back to the worker's default. */
  settings: SessionSettingsPatch;
}

/** A contact these commands address: as the command named it (canonical phone, or JID) and its JID. */
export interface ContactRef {
  /** The canonical phone (`+<E.164 digits>`) or the JID (`…@s.whatsapp.net`, `…@lid`), as given. */
  chat: string;
  /** The contact's JID: `<digits>@s.whatsapp.net` for a phone. */
  jid: string;
}

export interface SubscribePresenceCommand extends CommandBase, ContactRef {
  action: 'subscribe_presence';
  /** Always set: presence_subscribed (or presence_subscribe_failed) answers it. */
  requestId: string;
}

export interface GetProfileCommand extends CommandBase, ContactRef {
  action: 'get_profile';
  /** Always set: profile_fetched (or profile_fetch_failed) answers it. */
  requestId: string;
}

/** The account's own profile fields one `update_profile` changes (at least one). */
export interface ProfileChanges {
  name?: string;
  about?: string;
  /** The new picture (a JPEG or PNG), from the same sources as send_message media. */
  picture?: MediaSource;
  removePicture?: true;
}

export interface UpdateProfileCommand extends CommandBase {
  action: 'update_profile';
  /** Always set: profile_updated (or profile_update_failed) answers it. */
  requestId: string;
  changes: ProfileChanges;
}

export interface BlockCommand extends CommandBase, ContactRef {
  action: 'block' | 'unblock';
  /** Always set: block_status_changed (or block_status_failed) answers it. */
  requestId: string;
}

export type ProfileCommand = SubscribePresenceCommand | GetProfileCommand | UpdateProfileCommand | BlockCommand;

/** What group_participants does to each participant. */
export const GROUP_PARTICIPANT_OPERATIONS = ['add', 'remove', 'promote', 'demote'] as const;
export type GroupParticipantOperation = (typeof GROUP_PARTICIPANT_OPERATIONS)[number];
/** The disappearing-message timers WhatsApp offers (seconds; 0 = off). */
export const GROUP_EPHEMERAL_SECONDS = [0, 86400, 604800, 7776000] as const;

/** The group settings one update_group changes (at least one). */
export interface GroupChanges {
  subject?: string;
  /** '' clears it. */
  description?: string;
  /** Only admins send messages. */
  announce?: boolean;
  /** Only admins edit the group's info. */
  locked?: boolean;
  /** Disappearing messages, seconds (one of GROUP_EPHEMERAL_SECONDS). */
  ephemeral?: number;
  /** The group picture (a JPEG or PNG, as update_profile's), or `removePicture`. */
  picture?: MediaSource;
  removePicture?: true;
}

/** A group command after parsing: `group` is the group's JID (`…@g.us`); participants are user JIDs, each once. */
export type GroupCommandPart =
  | { action: 'create_group'; subject: string; participants: string[] }
  | { action: 'update_group'; group: string; changes: GroupChanges }
  | { action: 'group_participants'; group: string; operation: GroupParticipantOperation; participants: string[] }
  | { action: 'group_invite'; group: string; revoke: boolean }
  | { action: 'join_group' | 'group_invite_info'; code: string }
  | { action: 'leave_group' | 'get_group'; group: string }
  | { action: 'list_groups' }
  /** Membership requests (groups that approve joins): list them, or approve / reject `participants`. */
  | { action: 'group_requests'; group: string; operation: 'list' }
  | { action: 'group_requests'; group: string; operation: 'approve' | 'reject'; participants: string[] };

/** Every group command: answered by its event (see GROUP_ANSWERED_BY), so `requestId` is always set. */
export type GroupCommand = CommandBase & { requestId: string } & GroupCommandPart;

export type Command =
  | SessionCommand
  | GroupCommand
  | SendMessageCommand
  | CheckNumbersCommand
  | MarkReadCommand
  | SendPresenceCommand
  | SubscribePresenceCommand
  | GetProfileCommand
  | UpdateProfileCommand
  | BlockCommand
  | RejectCallCommand
  | UpdateSettingsCommand
  | EditMessageCommand
  | DeleteMessageCommand;
