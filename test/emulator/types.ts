/** Public types of the WhatsApp Web emulator. */
import type { GroupNotify } from './group-notify.js';
import type { proto } from '@whiskeysockets/baileys';
import type { OutgoingMedia } from './messaging.js';
import type { CallReject } from './calls.js';
import type { AccountProfile, ContactPresenceState, ContactProfileSettings, Profiles } from './profiles.js';

export type { OutgoingMedia, CallReject };

export interface EmulatorOptions {
  /** default '127.0.0.1' */
  host?: string;
  /** default 0 = ephemeral */
  port?: number;
  /** refs sent in <pair-device>, default 6. The client shows one QR per ref and closes with 408 when they run out. */
  qrRefs?: number;
  /**
   * Optional server-side expiry: `scanQr` rejects a registration's refs once more than
   * qrFirstTtlMs × qrRefs have passed since they were issued (default: never). The CLIENT decides
   * how long each QR is shown (Baileys: 60 s for the first, 20 s for the others, or its socket
   * config `qrTimeout` for all) and closes with 408 when the refs run out; to make that fast in a
   * test, pass `qrTimeout: <ms>` to makeWASocket and a small `qrRefs` here.
   */
  qrFirstTtlMs?: number;
  /** answer <count> with a value above Baileys' minimum so the 812-prekey upload is skipped */
  skipPrekeyUpload?: boolean;
  /** 'slow responses' fault: every server frame is held back by this much, default 0 */
  responseDelayMs?: number;
  /** default: a fresh Curve25519 pair */
  rootKeyPair?: { public: Uint8Array; private: Uint8Array };
  /** diagnostics sink; default silent (EMULATOR_DEBUG=1 logs to stderr) */
  log?: (msg: string, extra?: unknown) => void;
}

export type FaultKind = 'drop' | 'restart515' | 'logout401' | 'conflict440' | 'forbidden403' | 'unavailable503';

/** A message an emulated contact received from a linked account and decrypted. */
export interface ReceivedMessage {
  id: string;
  /** the contact's phone digits */
  to: string;
  /** the sending account's phone digits */
  from: string;
  /** the companion device that sent it */
  fromDevice: number;
  /** unix seconds from the stanza (or arrival time) */
  t: number;
  message: proto.IMessage;
  /** a group message: the group's JID (1:1 messages have none) */
  group?: string;
  /** a group message: the sending device as members see it (`participant`, e.g. `<account LID>:<device>@lid`) */
  participant?: string;
}

export interface SendResult {
  id: string;
  /** 'online': written to at least one open connection; 'queued': held for offline delivery */
  delivery: 'online' | 'queued';
}

export interface EmulatorState {
  url: string;
  rootPublicKeyHex: string;
  connectionCount: number;
  unknownIqCount: number;
  responseDelayMs: number;
  latestQr: string | undefined;
  accounts: Array<{
    phone: string;
    lid: string;
    banned: boolean;
    devices: number[];
    /** messages sent while its devices were offline, not yet written to any connection */
    queued: number;
    /** messages written to a device and not yet acknowledged (receipt or ack), including those waiting for redelivery */
    unacked: number;
    /** redeliveries so far (a message written again after its connection closed unacknowledged) */
    redelivered: number;
    /** most logged-in connections of the account open at the same time */
    maxConcurrentConnections: number;
    /** logins that replaced a still-open connection of the same device (440 for the old one) */
    loginConflicts: number;
    /** message stanzas from its clients with an id already accepted: acked, not delivered again */
    duplicateSends: number;
    /** the last presence its clients announced (`<presence type="available|unavailable"/>`); undefined before any */
    presence: 'available' | 'unavailable' | undefined;
  }>;
  contacts: Array<{
    phone: string;
    lid: string;
    received: number;
    /** retry receipts it sent to account devices for messages it could not decrypt (a redelivered receipt counts once) */
    retryReceiptsSent: number;
    /** messages from account devices it gave up on: still undecryptable after its retry receipts, never in `received` */
    undecryptable: number;
    /** how many of its messages account devices reported read (see `readBy`) */
    read: number;
  }>;
  connections: Array<{ id: number; phone?: string; device?: number; registering: boolean }>;
}

import type { PhoneHistory } from './phone-history.js';

export interface Emulator {
  /** 'ws://127.0.0.1:PORT/ws/chat' */
  readonly url: string;
  /** 32 bytes, the Noise cert chain root */
  readonly rootPublicKey: Uint8Array;
  readonly rootPublicKeyHex: string;
  /**
   * Resolves with the next QR a client displays for a pending registration (queued if it was shown
   * before the call). The server never learns the adv secret, which only travels inside the QR image,
   * so this is the server-known PREFIX `https://wa.me/settings/linked_devices#ref,noiseB64,identityB64`:
   * the client's full QR (connection.update `qr`) starts with it. `scanQr` needs the full string.
   */
  waitForQr(opts?: { timeoutMs?: number }): Promise<string>;
  /**
   * Act as the phone of `phoneNumber`: scan the client's full QR string and complete the link.
   * `businessName`: link as a business account with that verified name (pair-success `<biz name>`),
   * which Baileys takes as the account's name (`creds.me.name`); without a name it sends no
   * `available`/`unavailable` presence (the real phone syncs the push name through app state,
   * which the emulator does not).
   */
  scanQr(qr: string, opts: { phoneNumber: string; businessName?: string }): Promise<{ jid: string; lid: string }>;
  /** Act as the phone typing `code` (from the client's requestPairingCode) and complete the link. */
  confirmPairingCode(phoneNumber: string, code: string, opts?: { timeoutMs?: number }): Promise<{ jid: string; lid: string }>;
  /** Faults, addressed by the account's phone digits (or all connections when omitted). */
  fault(kind: FaultKind, phoneNumber?: string): Promise<void>;
  /** 'slow responses' at run time */
  setResponseDelay(ms: number): void;
  /** lift a forbidden403 ban */
  unban(phoneNumber: string): void;
  /** Forget all linked accounts (as after a restart without persistence) and drop their connections. */
  forgetAccounts(): void;
  readonly unknownIqCount: number;
  /** currently open client sockets */
  readonly connectionCount: number;
  state(): EmulatorState;

  // ---- phase 2: messaging ----
  /** Registers an emulated WhatsApp user (one phone device) that linked accounts can message. */
  addContact(phoneNumber: string): { jid: string; lid: string };
  /** Messages the contact received and decrypted so far. */
  receivedBy(contactPhone: string): ReceivedMessage[];
  /** Resolves with the next (not yet awaited) message the contact receives. */
  waitForMessage(contactPhone: string, opts?: { timeoutMs?: number }): Promise<ReceivedMessage>;
  /** Ids of the contact's messages an account device reported read (a `receipt` of type 'read' to its PN or LID), in order, each once. */
  readBy(contactPhone: string): string[];
  /**
   * Read receipts account devices sent in a group (`<receipt to=group participant=sender type="read">`), in order, each
   * (id, sender) once; `sender` is the contact's phone digits (the `participant` as sent when it is no known contact).
   */
  groupReads(groupJid: string): Array<{ id: string; sender: string }>;
  /** Chat states account devices sent the contact (`<chatstate to=contact><composing/></chatstate>`…), in order; `from` is the account's phone digits. */
  chatStates(contactPhone: string): Array<{ from: string; state: string }>;
  /**
   * The contact calls the account (`<call><offer call-id call-creator caller_pn>[<video/>]</offer></call>` from its LID) on every
   * open connection of the account (calls are not queued); the call id and how many connections it rang on.
   */
  call(fromContactPhone: string, toAccountPhone: string, opts?: { video?: boolean }): { callId: string; rang: number };
  /** The call ends: `timeout` (unanswered) or `terminate` (hung up); how many connections were told. */
  endCall(fromContactPhone: string, toAccountPhone: string, callId: string, reason?: 'timeout' | 'terminate'): number;
  /** Rejects the contact observed (`<call><reject call-id call-creator>` from a device, addressed to its PN or LID), in order. */
  callRejects(contactPhone: string): CallReject[];
  /** Resolves with `find()`'s first defined value, re-checked whenever the emulator observes something (state, receipts, chat states). */
  until<T>(find: () => T | undefined, opts?: { timeoutMs?: number; what?: string }): Promise<T>;
  /** Sends an encrypted message from a contact to an account: now if online, else queued for its next login. */
  sendMessage(fromContactPhone: string, toAccountPhone: string, message: proto.IMessage | string): Promise<SendResult>;
  /** The contact votes on a poll it received (`poll`, one of its `receivedBy`), as WhatsApp clients do (poll-votes.ts); [] withdraws its vote. */
  sendPollVote(fromContactPhone: string, poll: ReceivedMessage, selectedOptions: readonly string[]): Promise<SendResult>;

  // ---- history ----
  /**
   * The history the account's phone sends a device on its first login (phone-history.ts), instead
   * of the empty bootstrap; set before linking. Each chunk waits for the device's receipt and is
   * redelivered, like a contact's message, if the device goes away first.
   */
  setPhoneHistory(accountPhone: string, history: PhoneHistory): void;

  // ---- groups ----
  /**
   * A group of emulated contacts and linked accounts (phones; unknown phones become contacts). The first member
   * created it (superadmin); `admins` are further admins. Linked devices of member accounts can query its
   * metadata (`w:g2`) and send to it (group-send.ts).
   */
  createGroup(subject: string, memberPhones: string[], opts?: { admins?: string[] }): { jid: string };
  /** The contact's privacy refuses being added to groups (group-admin.ts: 403 with an invite code). */
  refuseGroupAdds(contactPhone: string): void;
  /** A group's state (members and admins as phone digits; the creator counts as an admin while a member). */
  groupState(groupJid: string): GroupState | undefined;
  /** The contact asks to join the group (group-admin.ts: listed, approved or rejected by admins). */
  requestToJoinGroup(groupJid: string, contactPhone: string): void;
  /** Contacts creating groups, adding, removing, promoting members, changing the subject, asking to join: pushed as w:gp2 notifications. */
  readonly groupNotify: GroupNotify;
  /** A member contact writes to the group: sender-key encrypted, delivered to every account member's devices. */
  sendGroupMessage(fromContactPhone: string, groupJid: string, message: proto.IMessage | string): Promise<SendResult>;

  // ---- media ----
  /** PEM of the media host's self-signed certificate: HTTPS clients (uploads, downloads) must trust it. */
  readonly mediaCa: string;
  readonly mediaStats: { uploads: number; downloads: number };
  /** The remote address of every WebSocket accepted, in order: a test binds a proxy's outgoing side to its own loopback address to tell who connected. */
  readonly clientAddresses: readonly string[];
  /** The same for the media host's TLS connections. */
  readonly mediaClientAddresses: readonly string[];
  /** The decrypted file of a media message a contact received (fetched from the media host, MAC checked). */
  mediaOf(message: proto.IMessage): Promise<Buffer>;
  /** A contact sends a media message: the file is encrypted and stored on the media host, the message points at it. */
  sendMedia(fromContactPhone: string, toAccountPhone: string, media: OutgoingMedia): Promise<SendResult>;

  // ---- presence and profiles (profiles.ts) ----
  /**
   * The contact goes online/offline or types/records/pauses: sent to every connection subscribed
   * to it (`presenceSubscribe`), from the JID it subscribed with; returns how many got it.
   * `lastSeen` (unix s) goes with unavailable (default: hidden, `last="deny"`).
   */
  contactPresence(contactPhone: string, state: ContactPresenceState, opts?: { lastSeen?: number }): number;
  /** The contact's picture URL, about, business profile (and what it hides). */
  setContactProfile(contactPhone: string, settings: ContactProfileSettings): void;
  /** What the account set on its own profile (name, about, picture bytes) and its block list. */
  accountProfile(accountPhone: string): AccountProfile;
  /** Subscriptions, refusals (`profiles.refuse('blocklist')`): the profiles part itself. */
  readonly profiles: Profiles;

  close(): Promise<void>;
}

/** What `groupState` tells of a group. */
export interface GroupState {
  subject: string;
  members: string[];
  admins: string[];
  description: string | undefined;
  announce: boolean;
  locked: boolean;
  ephemeral: number | undefined;
  inviteCode: string;
  /** Pending membership requests (phone digits). */
  requests: string[];
  /** The size of the group picture WhatsApp stores (0: none). */
  pictureBytes: number;
}
