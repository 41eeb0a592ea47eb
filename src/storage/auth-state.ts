import { BufferJSON, initAuthCreds, proto, type AuthenticationCreds, type AuthenticationState, type SignalDataTypeMap } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { backoffDelay, SingleTimer } from '../util/backoff.js';
import { describeError, WorkerError } from '../util/errors.js';
import type { Codec } from './encryption.js';
import { keys as objectKeys } from './object-keys.js';
import type { AuthStateHandle, BlobStore } from './types.js';

type KeyType = keyof SignalDataTypeMap;
type KeyChanges = { [T in KeyType]?: { [id: string]: unknown | null } };

/** What one stored object holds: a snapshot, or one journal segment. Both are complete on their own. */
interface StoredAuth {
  v: 1;
  seq: number;
  creds: AuthenticationCreds;
  /** Snapshot: every key. Segment: only the keys changed in that window (null = deleted). */
  keys: KeyChanges;
}

export interface AuthStateOptions {
  flushIntervalMs: number;
  /** Journal segments after which a snapshot is written and the segments removed. */
  compactEvery: number;
  logger: Logger;
  /** Counts objects written, for benchmarks. */
  onWrite?: () => void;
}

/**
 * A session's Baileys auth state, in memory and persisted by journal:
 * - reads are served from memory (everything is loaded once);
 * - changes (creds and keys) accumulate for at most `flushIntervalMs`, then go out as ONE object,
 *   a journal segment holding the whole creds plus the keys changed in that window: so creds and
 *   keys can never drift apart, however many key updates happened;
 * - every `compactEvery` segments, a snapshot replaces the journal (restore = snapshot + the
 *   segments after it, in order; a crash between the two writes leaves extra segments, ignored);
 * - a failed write keeps the changes in memory and is retried with backoff until it succeeds.
 */
export class PersistedAuthState implements AuthStateHandle {
  readonly state: AuthenticationState;
  private readonly memory = new Map<KeyType, Map<string, unknown>>();
  private pending: KeyChanges = {};
  private credsChanged = false;
  private seq: number;
  private segmentsSinceSnapshot: number;
  private readonly timer = new SingleTimer();
  private writing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  /** Set when the session's credentials were removed: nothing may be written any more. */
  discarded = false;

  private constructor(
    readonly sessionId: string,
    creds: AuthenticationCreds,
    private readonly blobs: BlobStore,
    private readonly codec: Codec,
    private readonly opts: AuthStateOptions,
    loaded: { seq: number; segments: number; keys: KeyChanges; rewrite: boolean },
  ) {
    this.seq = loaded.seq;
    this.segmentsSinceSnapshot = loaded.segments;
    for (const [type, entries] of Object.entries(loaded.keys) as Array<[KeyType, Record<string, unknown>]>) {
      const map = new Map<string, unknown>();
      for (const [id, value] of Object.entries(entries)) if (value !== null && value !== undefined) map.set(id, value);
      this.memory.set(type, map);
    }
    this.state = {
      creds,
      keys: {
        get: async <T extends KeyType>(type: T, ids: string[]) => {
          const map = this.memory.get(type);
          const out: { [id: string]: SignalDataTypeMap[T] } = {};
          if (!map) return out;
          for (const id of ids) {
            let value = map.get(id);
            if (value === undefined) continue;
            if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
            out[id] = value as SignalDataTypeMap[T];
          }
          return out;
        },
        set: async (data) => {
          for (const [type, entries] of Object.entries(data) as Array<[KeyType, Record<string, unknown> | undefined]>) {
            if (!entries) continue;
            let map = this.memory.get(type);
            if (!map) this.memory.set(type, (map = new Map()));
            const changes = (this.pending[type] ??= {});
            for (const [id, value] of Object.entries(entries)) {
              if (value === null || value === undefined) map.delete(id);
              else map.set(id, value);
              changes[id] = value ?? null;
            }
          }
          this.schedule();
        },
      },
    };
    // Plaintext or old-key objects found at load: rewrite them under the current key.
    if (loaded.rewrite) {
      this.segmentsSinceSnapshot = Number.MAX_SAFE_INTEGER;
      this.credsChanged = true;
      this.schedule();
    }
  }

  static async open(sessionId: string, blobs: BlobStore, codec: Codec, opts: AuthStateOptions): Promise<PersistedAuthState> {
    const decode = (buf: Buffer, what: string) => {
      const { data, legacy } = codec.decode(buf, what);
      return { value: JSON.parse(data.toString('utf8'), BufferJSON.reviver) as StoredAuth, legacy };
    };
    let creds: AuthenticationCreds | undefined;
    let seq = 0;
    let rewrite = false;
    const keys: KeyChanges = {};
    const snapshotBuf = await blobs.get(objectKeys.snapshot(sessionId));
    if (snapshotBuf) {
      const { value, legacy } = decode(snapshotBuf, `auth snapshot of ${sessionId}`);
      creds = value.creds;
      seq = value.seq;
      Object.assign(keys, value.keys);
      rewrite ||= legacy;
    }
    const segmentKeys = (await blobs.list(objectKeys.journal(sessionId))).filter((k) => objectKeys.seqOf(k) > seq);
    for (const key of segmentKeys) {
      const buf = await blobs.get(key);
      if (!buf) continue;
      const { value, legacy } = decode(buf, `auth journal ${key}`);
      creds = value.creds;
      seq = value.seq;
      rewrite ||= legacy;
      for (const [type, entries] of Object.entries(value.keys) as Array<[KeyType, Record<string, unknown>]>) {
        const target = (keys[type] ??= {});
        for (const [id, v] of Object.entries(entries)) {
          if (v === null) delete target[id];
          else target[id] = v;
        }
      }
    }
    return new PersistedAuthState(sessionId, creds ?? initAuthCreds(), blobs, codec, opts, { seq, segments: segmentKeys.length, keys, rewrite });
  }

  saveCreds(): void {
    this.credsChanged = true;
    this.schedule();
  }

  isLinked(): boolean {
    return !!this.state.creds.me && !!this.state.creds.account;
  }

  private get dirty(): boolean {
    return this.credsChanged || Object.keys(this.pending).length > 0;
  }

  private schedule(): void {
    if (this.closed || this.discarded || this.timer.pending || this.writing) return;
    const delay = this.failures === 0 ? this.opts.flushIntervalMs : backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000 });
    this.timer.schedule(delay, () => void this.writeOnce().catch(() => undefined));
  }

  /** Persists what is pending now. Rejects (keeping the changes) if storage refuses. */
  async flush(): Promise<void> {
    this.timer.cancel();
    // Wait for a write in progress, then write whatever accumulated meanwhile.
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.dirty && !this.discarded) await this.writeOnce();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.timer.cancel();
    }
  }

  private writeOnce(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      if (this.dirty) this.schedule();
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    if (this.discarded || !this.dirty) return;
    const changes = this.pending;
    const credsChanged = this.credsChanged;
    this.pending = {};
    this.credsChanged = false;
    const compact = this.segmentsSinceSnapshot + 1 >= this.opts.compactEvery;
    const seq = this.seq + 1;
    try {
      if (compact) await this.writeSnapshot(seq);
      else await this.put(objectKeys.journalSegment(this.sessionId, seq), { v: 1, seq, creds: this.state.creds, keys: changes });
      this.seq = seq;
      this.segmentsSinceSnapshot = compact ? 0 : this.segmentsSinceSnapshot + 1;
      this.failures = 0;
    } catch (err) {
      // Keep every change: merge back under anything newer that arrived meanwhile.
      for (const [type, entries] of Object.entries(changes) as Array<[KeyType, Record<string, unknown>]>) {
        this.pending[type] = { ...entries, ...this.pending[type] };
      }
      this.credsChanged ||= credsChanged;
      this.failures++;
      this.opts.logger.warn({ sessionId: this.sessionId, err: describeError(err), failures: this.failures }, 'auth state write failed; will retry');
      throw err instanceof WorkerError ? err : new WorkerError('STORAGE_UNAVAILABLE', describeError(err), { cause: err });
    }
  }

  private async writeSnapshot(seq: number): Promise<void> {
    const all: KeyChanges = {};
    for (const [type, map] of this.memory) all[type] = Object.fromEntries(map);
    await this.put(objectKeys.snapshot(this.sessionId), { v: 1, seq, creds: this.state.creds, keys: all });
    // The snapshot covers every segment up to `seq`: they can go (if this fails, they are ignored).
    const old = (await this.blobs.list(objectKeys.journal(this.sessionId))).filter((k) => objectKeys.seqOf(k) <= seq);
    for (const key of old) await this.blobs.delete(key).catch(() => undefined);
  }

  private async put(key: string, value: StoredAuth): Promise<void> {
    if (this.discarded) return;
    const body = this.codec.encode(Buffer.from(JSON.stringify(value, BufferJSON.replacer)));
    await this.blobs.put(key, body);
    this.opts.onWrite?.();
  }
}
