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

/**
 * `session-data.json` as stored: the metadata plus what the session store maintains on every
 * write for rollback detection (see session-store.ts). Owned by the store: `loadMeta` returns
 * the metadata without these, and `saveMeta` ignores them in its argument. Absent in metadata
 * written before them (legacy: accepted, unanchored until the next write).
 */
export interface StoredSessionMeta extends SessionMeta {
  /**
   * Strictly increasing per session, seeded by the wall clock (`max(previous + 1, now)`), so that
   * a session deleted and created again does not restart below what a process still remembers.
   */
  revision?: number;
  /** The auth journal's head (newest object written) as of this write; null = no credentials stored. */
  authHead?: AuthChainLink | null;
  /** Set by a logout: every auth object at or below this sequence number predates it and is ignored. */
  authSeqFloor?: number;
}

/** Names one stored auth object: its sequence number and the SHA-256 (hex) of its record. */
export interface AuthChainLink {
  seq: number;
  hash: string;
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
  /** The ids of every stored session, from one listing (no object is read). */
  listSessionIds(): Promise<string[]>;
}

/** A store that can be flushed and closed as a whole (graceful shutdown). */
export interface ClosableSessionStore extends SessionStore {
  /** Persist what every open auth state has pending. */
  flushAll(): Promise<void>;
  close(): Promise<void>;
}
