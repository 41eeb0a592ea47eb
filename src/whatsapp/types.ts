import type { Readable } from 'node:stream';
import type { MediaKind } from '../storage/media-store.js';
import type { AuthStateHandle } from '../storage/types.js';
import type { HistorySyncType, MessageStatus, ReceivedMessageType } from '../events/catalogue.js';

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
  /**
   * Sends WhatsApp the delivery receipt, after which WhatsApp deletes the message: call it once
   * the message is safe (its `message_received` confirmed). Until then, and if the connection
   * closes first, WhatsApp keeps the message and delivers it again on the next connection.
   */
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
  /** The socket closed; Baileys' status code (see `disconnect-reasons.ts`). */
  | { type: 'close'; statusCode: number | undefined; message: string }
  /** Messages from others; `offline` when WhatsApp replays what arrived while the session was away. */
  | { type: 'messages'; messages: IncomingMessage[]; offline: boolean }
  | { type: 'receipts'; receipts: MessageReceipt[] }
  /** A chunk of the history the phone sends after linking. */
  | { type: 'history'; chunk: HistoryChunk };

export interface WhatsAppConnectParams {
  sessionId: string;
  auth: AuthStateHandle;
  onEvent: (event: WhatsAppEvent) => void;
}

/** What to send: the command's message, with media resolved to bytes, a stream or a URL. */
export type OutgoingContent =
  | { type: 'text'; text: string }
  | {
      type: 'image' | 'video' | 'audio' | 'document';
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
   * Read receipts for messages a contact sent in its 1:1 chat (`phoneJid`: `<digits>@s.whatsapp.net`);
   * resolves once WhatsApp was sent the receipt. The connector addresses it as the messages came
   * (the contact's LID when known).
   */
  markRead(phoneJid: string, messageIds: readonly string[]): Promise<void>;
  /**
   * The account's presence (`available`/`unavailable`, no chat) or a chat state towards one
   * contact (`composing`/`recording`/`paused`, `phoneJid` set); resolves once it was sent.
   */
  sendPresence(state: PresenceUpdate, phoneJid?: string): Promise<void>;
}

/** What `sendPresence` may announce. */
export type PresenceUpdate = 'available' | 'unavailable' | 'composing' | 'recording' | 'paused';

export interface WhatsAppConnector {
  connect(params: WhatsAppConnectParams): WhatsAppConnection;
}
