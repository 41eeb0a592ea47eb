import type { AuthenticationState } from '@whiskeysockets/baileys';

/**
 * The narrowest storage a driver must offer: whole objects by key. Keys are '/'-separated
 * relative paths built only through `object-keys.ts`, never from raw input.
 */
export interface BlobStore {
  get(key: string): Promise<Buffer | undefined>;
  /** Atomic: a reader sees the old object or the new one, never a torn write. */
  put(key: string, body: Buffer): Promise<void>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys under a prefix (recursively), sorted ascending. */
  list(prefix: string): Promise<string[]>;
  /** The names of the "folders" directly under a prefix ending in '/', sorted (S3: common prefixes). */
  listChildren(prefix: string): Promise<string[]>;
  deletePrefix(prefix: string): Promise<void>;
}

/** What the worker remembers about a session besides its WhatsApp credentials. */
export interface SessionMeta {
  sessionId: string;
  numberId: number;
  phoneNumber: string;
  /** The worker that owns (drives) this session: restores pick up only their own. */
  workerId: string;
  /** Set once linked: the account's JID. */
  jid?: string;
  createdAt: number;
  updatedAt: number;
}

/** A session's Baileys auth state, persisted behind the scenes. */
export interface AuthStateHandle {
  /** Hand this to Baileys (`auth`). Reads are served from memory after the first load. */
  readonly state: AuthenticationState;
  /** Call on Baileys' `creds.update`: schedules a (coalesced) persist. */
  saveCreds(): void;
  /** True once `creds.me` is set, i.e. the session has been linked to a phone. */
  isLinked(): boolean;
  /** Persist everything pending now. */
  flush(): Promise<void>;
  /** Flush, then release. The handle must not be used afterwards. */
  close(): Promise<void>;
}

export interface SessionStore {
  openAuthState(sessionId: string): Promise<AuthStateHandle>;
  /** Logout: the credentials and keys go, the metadata stays. */
  removeAuth(sessionId: string): Promise<void>;
  /** Delete: everything stored for the session goes. */
  removeSession(sessionId: string): Promise<void>;
  saveMeta(meta: SessionMeta): Promise<void>;
  loadMeta(sessionId: string): Promise<SessionMeta | undefined>;
  listMeta(): Promise<SessionMeta[]>;
}

/** A store that can be flushed and closed as a whole (graceful shutdown). */
export interface ClosableSessionStore extends SessionStore {
  /** Persist what every open auth state has pending. */
  flushAll(): Promise<void>;
  close(): Promise<void>;
}
