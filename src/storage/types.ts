import type { SessionSettingsPatch } from '../util/session-settings.js';

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
  /** When the account was linked (epoch ms; set with `jid` the first time, kept after): send pacing's warm-up counts from it. */
  linkedAt?: number;
  /** The number's own settings (`create` / `update_settings`): only the fields set for it; the rest follow the worker's defaults. */
  settings?: SessionSettingsPatch;
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

/**
 * A session's WhatsApp credentials and Signal keys (Baileys' `AuthenticationState`), held opaque.
 * Only the two adapters that know Baileys look inside: storage, which loads and persists it, and
 * the WhatsApp connector, which hands it to Baileys and narrows it back with its one documented
 * cast (`baileysAuthState` in baileys-connector.ts). The session core only carries it from one to
 * the other, so it compiles without Baileys. Declared structurally (any `AuthenticationState` is
 * one) so that storage produces it without a cast; `object` lets nobody else read a field.
 */
export interface WhatsAppAuthState {
  readonly creds: object;
  readonly keys: object;
}

/** A session's auth state, persisted behind the scenes. */
export interface AuthStateHandle {
  /** Hand this to the WhatsApp connector. Reads are served from memory after the first load. */
  readonly state: WhatsAppAuthState;
  /** Call on Baileys' `creds.update`: schedules a (coalesced) persist. */
  saveCreds(): void;
  /**
   * The one definition of "linked": the phone accepted this device, i.e. a successful pairing
   * stored both `creds.me` and `creds.account` (see JournaledAuthState.isLinked for why `me`
   * alone is not enough). Sessions ask only this.
   */
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
