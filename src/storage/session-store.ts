import type { Logger } from 'pino';
import { WorkerError } from '../util/errors.js';
import { PersistedAuthState } from './auth-state.js';
import type { Codec } from './encryption.js';
import { decodeSegment, keys } from './object-keys.js';
import type { AuthStateHandle, BlobStore, ClosableSessionStore, SessionMeta } from './types.js';

export interface SessionStoreOptions {
  blobs: BlobStore;
  codec: Codec;
  flushIntervalMs: number;
  compactEvery?: number;
  logger: Logger;
}

/**
 * Sessions in a BlobStore: metadata and auth state, every object through the codec (the
 * metadata holds phone numbers, so it is encrypted too when a key is set). One auth state per
 * session is open at a time; removing a session's credentials disarms its open handle first, so
 * a late flush can never bring deleted credentials back.
 */
export class BlobSessionStore implements ClosableSessionStore {
  private readonly open = new Map<string, PersistedAuthState>();
  /** Objects written since start (benchmarks: writes per session per window). */
  writes = 0;

  constructor(private readonly opts: SessionStoreOptions) {}

  async openAuthState(sessionId: string): Promise<AuthStateHandle> {
    const existing = this.open.get(sessionId);
    if (existing) await existing.close();
    const state = await PersistedAuthState.open(sessionId, this.opts.blobs, this.opts.codec, {
      flushIntervalMs: this.opts.flushIntervalMs,
      compactEvery: this.opts.compactEvery ?? 64,
      logger: this.opts.logger,
      onWrite: () => this.writes++,
    });
    this.open.set(sessionId, state);
    const release = state.close.bind(state);
    state.close = async () => {
      try {
        await release();
      } finally {
        if (this.open.get(sessionId) === state) this.open.delete(sessionId);
      }
    };
    return state;
  }

  async removeAuth(sessionId: string): Promise<void> {
    this.disarm(sessionId);
    await this.opts.blobs.deletePrefix(keys.auth(sessionId));
  }

  async removeSession(sessionId: string): Promise<void> {
    this.disarm(sessionId);
    await this.opts.blobs.deletePrefix(keys.session(sessionId));
  }

  private disarm(sessionId: string): void {
    const state = this.open.get(sessionId);
    if (state) state.discarded = true;
    this.open.delete(sessionId);
  }

  async saveMeta(meta: SessionMeta): Promise<void> {
    await this.opts.blobs.put(keys.meta(meta.sessionId), this.opts.codec.encode(Buffer.from(JSON.stringify(meta))));
  }

  async loadMeta(sessionId: string): Promise<SessionMeta | undefined> {
    const buf = await this.opts.blobs.get(keys.meta(sessionId));
    if (!buf) return undefined;
    return JSON.parse(this.opts.codec.decode(buf, `metadata of ${sessionId}`).data.toString('utf8')) as SessionMeta;
  }

  async listMeta(): Promise<SessionMeta[]> {
    const out: SessionMeta[] = [];
    for (const segment of await this.opts.blobs.listChildren(keys.sessionsRoot)) {
      try {
        const meta = await this.loadMeta(decodeSegment(segment));
        if (meta) out.push(meta);
      } catch (err) {
        // One unreadable session (wrong key, corrupt) must not hide the others.
        if (err instanceof WorkerError && err.code === 'DECRYPTION_FAILED') this.opts.logger.error({ segment, err: err.message }, 'cannot read session metadata');
        else throw err;
      }
    }
    return out;
  }

  async flushAll(): Promise<void> {
    const results = await Promise.allSettled([...this.open.values()].map((s) => s.flush()));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) throw new WorkerError('STORAGE_UNAVAILABLE', `${failed.length} session(s) could not be flushed`, { cause: (failed[0] as PromiseRejectedResult).reason });
  }

  async close(): Promise<void> {
    await this.flushAll();
  }
}
