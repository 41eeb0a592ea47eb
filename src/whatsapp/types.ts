import type { Readable } from 'node:stream';
import type { MediaKind } from '../storage/media-store.js';
import type { AuthStateHandle } from '../storage/types.js';
import type { HistorySyncType, MessageStatus, ReceivedMessageType } from '../events/catalogue.js';
import type { SessionSettings } from '../util/session-settings.js';
import type { ProxyFailure } from '../util/proxy-url.js';
import type { CreatedGroup, GroupChange, GroupEvent, GroupInfo, GroupJoinRequest, GroupParticipantResult } from './group-types.js';

/**
 * The WhatsApp boundary as the session logic sees it. The Baileys adapter is one
 * implementation; unit tests use a fake that `satisfies WhatsAppConnector`.
 */
export interface LinkedAccount {
  /** The account's device JID, e.g. `221771234567:12@s.whatsapp.net`. */
  jid: string;
  /** Digits of the linked phone number. */
  phoneNumber: string;
  lid?: string;
}

/** The file of a received media message; `open` streams it, decrypted. */
export interface IncomingMedia {
  kind: MediaKind;
  mimeType: string | undefined;
  size: number | undefined;
  fileName: string | undefined;
  ptt: boolean;
  open(): Promise<Readable>;
}

/** A message to mark read: its id and, in a group, the member who sent it. */
export interface ReadKey {
  id: string;
  participant?: string | undefined;
}

/** A message someone else sent, as the adapter translated it (never one of our own). */
export interface IncomingMessage {
  id: string;
  /** The chat: the sender for 1:1 chats, the group for groups. */
  chat: string;
  isGroup: boolean;
  /** The sender, by phone-number JID and/or LID, as far as WhatsApp told. */
  from: { pn?: string; lid?: string };
  /** Groups: the member who sent it. */
  participant?: string;
  pushName?: string;
  /** When the sender sent it, epoch ms. */
  sentAt: number;
  type: ReceivedMessageType;
  text?: string;
  caption?: string;
  replyTo?: string;
  media?: IncomingMedia;
  /** JIDs the message mentions. */
  mentions?: string[];
  /** Location messages (live ones too). */
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  /** Contact cards (one, or an array). */
  contacts?: Array<{ displayName?: string; vcard: string }>;
  /** Poll creations (every version). */
  poll?: { name: string; options: string[]; selectableCount: number };
  /** A vote on a poll (`pollUpdateMessage`): published as poll_vote, never as message_received. */
  pollVote?: IncomingPollVote;
  /**
   * Sends WhatsApp the delivery receipt, after which WhatsApp deletes the message: call it once
   * the message is safe (its `message_received` confirmed). Until then, and if the connection
   * closes first, WhatsApp keeps the message and delivers it again on the next connection.
   */
  acknowledge(): void;
  /** Sends WhatsApp the read receipt for this message, addressed as it came (auto-read); resolves once sent. */
  markRead?(): Promise<void>;
}

/**
 * A call to the account, or its end, as the adapter translated it (WhatsApp's `<call>` stanzas;
 * other steps of a call, ringing, accept on the phone…, are not reported).
 */
export interface IncomingCall {
  /** WhatsApp's call id (`call-id`), the same for every stanza of one call. */
  id: string;
  /** `offer`: it rings; `timeout`: nobody answered; `terminate`: the caller hung up (or it ended). */
  status: 'offer' | 'timeout' | 'terminate';
  /** The caller, by phone-number JID and/or LID, as far as WhatsApp told (no device part). */
  from: { pn?: string; lid?: string };
  /** The JID WhatsApp named the caller by (`call-creator`): where a reject is addressed. */
  callerJid: string;
  isVideo: boolean;
  isGroup: boolean;
  /** When WhatsApp says the stanza was sent, epoch ms. */
  at: number;
  /** Replayed after an offline period. */
  offline: boolean;
}

/** A contact's vote on a poll, still encrypted with the poll's secret (which only the poll's sender has). */
export interface IncomingPollVote {
  /** The id of the poll voted on. */
  pollMessageId: string;
  /** The chat of the poll, as the vote's key says. */
  pollChat: string;
  /** When the vote was cast, epoch ms. */
  votedAt: number;
  /**
   * The SHA-256 hashes of the options chosen (none: the vote was withdrawn), decrypted with the
   * poll's `messageSecret`; undefined when the vote does not decrypt with it (not our poll's key).
   */
  decrypt(pollSecret: Buffer): Buffer[] | undefined;
}

/**
 * A change someone else made to a chat, as the adapter translated it: a reaction to a message,
 * an edit or a revoke ("delete for everyone") of a message. Each arrives as a message of its own
 * (its own `id`), and is acknowledged like one (see `IncomingMessage.acknowledge`).
 */
export type IncomingUpdate = IncomingUpdateBase &
  (
    | { kind: 'reaction'; /** The emoji; '' when the reaction was removed. */ emoji: string }
    | { kind: 'edit'; /** The new text (or caption), when the edited content has one. */ newText?: string }
    | { kind: 'revoke' }
  );

/** An update as the adapter builds it, before it binds the receipt (`acknowledge`). */
export type IncomingUpdateContent = IncomingUpdate extends infer U ? (U extends unknown ? Omit<U, 'acknowledge'> : never) : never;

interface IncomingUpdateBase {
  /** The id of the reaction, edit or revoke message itself. */
  id: string;
  /** The chat: the sender for 1:1 chats, the group for groups. */
  chat: string;
  isGroup: boolean;
  /** Who reacted, edited or revoked, by phone-number JID and/or LID, as far as WhatsApp told. */
  from: { pn?: string; lid?: string };
  /** Groups: the member who did it. */
  participant?: string;
  /** The message it is about. `fromMe`: as the receiving WhatsApp sees it (our own message); `participant`: groups, its sender. */
  target: { id: string; fromMe?: boolean; participant?: string };
  /** When it was done, epoch ms. */
  at: number;
  /** As `IncomingMessage.acknowledge`: call it once the update's event is confirmed. */
  acknowledge(): void;
}

/** Progress of a message this session sent. */
export interface MessageReceipt {
  messageId: string;
  chat: string;
  status: MessageStatus;
  participant?: string;
  at?: number;
}

/** A message of the history the phone sends after linking: from a contact, or one this account sent (`fromMe`). */
export interface HistoryMessage extends Omit<IncomingMessage, 'acknowledge' | 'media'> {
  fromMe: boolean;
  /** What the file was; history files are not downloaded (most have left WhatsApp's media hosts). */
  media?: Omit<IncomingMedia, 'open'>;
}

/** A chat of the history, as the phone describes it. */
export interface HistoryChat {
  jid: string;
  name?: string;
  unreadCount?: number;
  /** Its last message, epoch ms. */
  lastMessageAt?: number;
  archived?: boolean;
  pinned?: boolean;
  readOnly?: boolean;
}

/** A contact of the history: names the phone knows (address book, push name, business name). */
export interface HistoryContact {
  jid: string;
  lid?: string;
  /** The phone-number JID, when WhatsApp told it. */
  phoneJid?: string;
  name?: string;
  notify?: string;
  verifiedName?: string;
}

/**
 * One chunk of the history the phone sends (one or several history-sync notifications, as
 * Baileys merged them). Messages are translated one at a time as `messages()` is iterated, so
 * a chunk of 100,000 messages is never held twice.
 */
export interface HistoryChunk {
  syncType: HistorySyncType;
  /** Percent of the whole sync done with this chunk, when the phone said. */
  progress?: number;
  chunkOrder?: number;
  /** The first chunk this device processed (Baileys' `isLatest`). */
  isLatest: boolean;
  chats: readonly HistoryChat[];
  contacts: readonly HistoryContact[];
  messageCount: number;
  messages(): Iterable<HistoryMessage>;
  /**
   * Sends the receipts of the chunk's notifications, after which the phone never sends it again:
   * call it once every event of the chunk is confirmed. If the connection closes first, the phone
   * sends the chunk again on the next connection.
   */
  acknowledge(): void;
}

export type WhatsAppEvent =
  | { type: 'qr'; qr: string }
  | { type: 'open'; account: LinkedAccount }
  /** The socket closed; Baileys' status code (see `disconnect-reasons.ts`); `proxyFailure` when the number's proxy did not carry it. */
  | { type: 'close'; statusCode: number | undefined; message: string; proxyFailure?: ProxyFailure | undefined }
  /** Messages from others; `offline` when WhatsApp replays what arrived while the session was away. */
  | { type: 'messages'; messages: IncomingMessage[]; offline: boolean }
  | { type: 'receipts'; receipts: MessageReceipt[] }
  | { type: 'calls'; calls: IncomingCall[] }
  /** Presence and chat states of contacts the session subscribed to (ephemeral). */
  | { type: 'presence'; updates: ContactPresence[] }

  /** Reactions, edits and revokes from others; `offline` as for messages. */
  | { type: 'updates'; updates: IncomingUpdate[]; offline: boolean }

  /** A chunk of the history the phone sends after linking. */
  | { type: 'history'; chunk: HistoryChunk }

  /** Changes to groups the account is in, from WhatsApp's `w:gp2` notifications (see baileys-group-events.ts). */
  | { type: 'groups'; events: GroupEvent[] };

export interface WhatsAppConnectParams {
  sessionId: string;
  auth: AuthStateHandle;
  onEvent: (event: WhatsAppEvent) => void;
  /** The number's settings in force as the socket opens (the adapter reads `historySync` and `proxy`); absent: Baileys' configuration as before. */
  settings?: SessionSettings | undefined;
}

/** What to send: the command's message, with media resolved to bytes, a stream or a URL. */
export type OutgoingContent =
  | { type: 'text'; text: string }
  | { type: 'location'; latitude: number; longitude: number; name: string | undefined; address: string | undefined }
  | { type: 'contact'; contacts: Array<{ displayName: string | undefined; vcard: string }> }
  /** `messageSecret` (32 bytes) is the poll's key: votes are encrypted with it (see poll-votes.ts). */
  | { type: 'poll'; name: string; options: string[]; selectableCount: number; messageSecret: Buffer }
  /** An emoji ('' removes it) on the message with this key in the chat sent to. */
  | { type: 'reaction'; emoji: string; target: { id: string; fromMe: boolean; participant?: string } }
  | {
      type: 'image' | 'video' | 'audio' | 'document' | 'sticker';
      media: { url: string } | { buffer: Buffer } | { stream: Readable };
      mimeType: string | undefined;
      caption: string | undefined;
      fileName: string | undefined;
      ptt: boolean;
    };

export interface SendOptions {
  /** The message id to use (deterministic, so a resend is recognised as the same message). */
  messageId: string;
  /** Reply to this message. */
  quoted?: { id: string; fromMe: boolean; participant?: string; text?: string };
  /** JIDs mentioned (contextInfo.mentionedJid). */
  mentions?: string[];
}

/** What WhatsApp says of one phone-number JID. */
export interface NumberCheck {
  /** The JID asked about (`<digits>@s.whatsapp.net`). */
  jid: string;
  /** Registered on WhatsApp. */
  exists: boolean;
  /** The account's LID (`…@lid`), when WhatsApp told it. */
  lid?: string;
}

export interface WhatsAppConnection {
  /** Link by an 8-character code instead of a QR. Only valid before linking. */
  requestPairingCode(phoneDigits: string): Promise<string>;
  /** Unlink from the phone. The socket closes afterwards (a `close` event with 401 follows). */
  logout(): Promise<void>;
  /** Close the socket, keep the credentials. Emits no further events. */
  end(): void;
  /** Sends; resolves once WhatsApp's server took it (the id is `opts.messageId`). */
  sendMessage(jid: string, content: OutgoingContent, opts: SendOptions): Promise<{ messageId: string; sentAt: number }>;
  /** Whether a phone-number JID is registered on WhatsApp. */
  isOnWhatsApp(jid: string): Promise<boolean>;
  /**
   * Several phone-number JIDs in one query: one answer per JID, in the order given. A JID
   * WhatsApp leaves out of its answer is reported as not registered.
   */
  checkNumbers(phoneJids: readonly string[]): Promise<NumberCheck[]>;
  /**
   * Read receipts for messages others sent in `chatJid`: a contact's 1:1 chat (`…@s.whatsapp.net`,
   * `…@lid`) or a group (`…@g.us`, each message with its sender, `participant`); resolves once
   * WhatsApp was sent the receipts. The connector addresses them as the messages came (the
   * contact's LID when known).
   */
  markRead(chatJid: string, messages: readonly ReadKey[]): Promise<void>;
  /**
   * The account's presence (`available`/`unavailable`, no chat) or a chat state towards one
   * contact (`composing`/`recording`/`paused`, `phoneJid` set); resolves once it was sent.
   */
  sendPresence(state: PresenceUpdate, phoneJid?: string): Promise<void>;
  /**
   * Edits the text of a message this account sent in `jid`; the edit is a message of its own with
   * id `opts.editId` (deterministic, so a resend is recognised as the same edit). Resolves once
   * WhatsApp's server took it.
   */
  editMessage(jid: string, messageId: string, text: string, opts: { editId: string }): Promise<{ sentAt: number }>;
  /**
   * Revokes a message for everyone in `jid`: our own (`fromMe`), or, in a group, a member's
   * (`participant`; WhatsApp only lets admins). The revoke's own id is `opts.revokeId`.
   */
  deleteMessage(jid: string, message: { id: string; fromMe: boolean; participant?: string }, opts: { revokeId: string }): Promise<{ sentAt: number }>;
  /** Rejects a ringing call (`callerJid`: as `IncomingCall.callerJid`, or the caller's PN/LID JID); resolves once WhatsApp acknowledged it. */
  rejectCall(callId: string, callerJid: string): Promise<void>;
  /** Asks WhatsApp for a contact's presence (`presence` events follow); resolves once sent (WhatsApp answers nothing). */
  subscribePresence(jid: string): Promise<void>;
  /** A contact's picture URL, about and business profile; what is unset or hidden is absent. */
  fetchProfile(jid: string): Promise<ContactProfile>;
  /** The account's push name (through WhatsApp's app state). */
  setProfileName(name: string): Promise<void>;
  /** The account's about text. */
  setProfileAbout(about: string): Promise<void>;
  /** The account's picture (a JPEG or PNG, resized by the connector), or removes it (`undefined`); INVALID_MEDIA when it cannot be decoded. */
  setProfilePicture(image: Buffer | undefined): Promise<void>;
  /** Blocks or unblocks a contact; resolves once WhatsApp took it. */
  setBlocked(jid: string, blocked: boolean): Promise<void>;
  /**
   * Group administration (baileys-groups.ts). WhatsApp's refusals are WorkerErrors NOT_ADMIN (401),
   * NOT_A_MEMBER (403), UNKNOWN_GROUP (404); anything else is thrown as it came.
   */
  createGroup(subject: string, participants: readonly string[]): Promise<CreatedGroup>;
  groupMetadata(groupJid: string): Promise<GroupInfo>;
  listGroups(): Promise<GroupInfo[]>;
  updateGroup(groupJid: string, change: GroupChange): Promise<void>;
  updateGroupParticipants(
    groupJid: string,
    participants: readonly string[],
    operation: 'add' | 'remove' | 'promote' | 'demote',
  ): Promise<GroupParticipantResult[]>;
  /** The group's invite code; `revoke`: a new one (the old link stops working). */
  groupInviteCode(groupJid: string, revoke: boolean): Promise<string>;
  /** Joins by invite code; the group's JID. */
  joinGroup(code: string): Promise<string>;
  groupInviteInfo(code: string): Promise<GroupInfo>;
  leaveGroup(groupJid: string): Promise<void>;
  /** The pending membership requests of a group that approves joins. */
  groupJoinRequests(groupJid: string): Promise<GroupJoinRequest[]>;
  answerJoinRequests(groupJid: string, participants: readonly string[], approve: boolean): Promise<GroupParticipantResult[]>;
}

/** A contact's presence or chat state, as WhatsApp pushed it. */
export interface ContactPresence {
  /** The chat (the contact, or a group), a JID without device. */
  chat: string;
  from: { pn?: string; lid?: string };
  presence: ContactPresenceState;
  /** unavailable: last seen, epoch ms, unless hidden. */
  lastSeen?: number;
}

export type ContactPresenceState = 'available' | 'unavailable' | 'composing' | 'recording' | 'paused';

/** What WhatsApp tells of a contact's profile (fields bounded by the connector). */
export interface ContactProfile {
  pictureUrl?: string;
  about?: string;
  /** epoch ms */
  aboutSetAt?: number;
  business?: { description: string; category?: string; email?: string; website: string[]; address?: string };
}

/** What `sendPresence` may announce. */
export type PresenceUpdate = 'available' | 'unavailable' | 'composing' | 'recording' | 'paused';

export interface WhatsAppConnector {
  connect(params: WhatsAppConnectParams): WhatsAppConnection;
}

export type * from './group-types.js';
