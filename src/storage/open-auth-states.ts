import { describeError, WorkerError } from '../util/errors.js';
import type { AuthStateOptions } from './auth-journal-writer.js';
import { JournaledAuthState } from './auth-state.js';
import type { Codec } from './encryption.js';
import type { SessionMetaStore } from './session-meta-store.js';
import type { AuthStateHandle, BlobStore } from './types.js';

/** What `openAuthState` returns: the contract, plus a per-session write counter. */
export interface PersistentAuthStateHandle extends AuthStateHandle {
  /** Storage's own view: Baileys' `AuthenticationState` (opaque `WhatsAppAuthState` in the contract). */
  readonly state: JournaledAuthState['state'];
  /** Objects this session's auth state has written (shared by every handle on the session). */
  readonly writes: number;
}

interface OpenEntry {
  auth: JournaledAuthState;
  handles: number;
}

/**
 * The auth states open in this process, one per session: concurrent `open` calls share it (each
 * gets its own handle; the state is retired when the last handle closes), so there is never
 * more than one writer per session in a process, and a reopen never reads storage that is older
 * than memory. `disarm` stops a session's state from writing (and waits for a write in flight)
 * before its objects are removed, so a late flush cannot bring deleted credentials back.
 */
export class OpenAuthStates {
  private readonly entries = new Map<string, OpenEntry>();
  private readonly loading = new Map<string, Promise<OpenEntry>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly codec: Codec,
    private readonly options: AuthStateOptions,
    private readonly meta: SessionMetaStore,
  ) {}

  /** A new handle on the session's auth state, loading it unless it is open already. */
  async open(sessionId: string): Promise<PersistentAuthStateHandle> {
    const entry = await this.entryFor(sessionId);
    entry.handles++;
    return this.handle(sessionId, entry);
  }

  /** The session's auth state, if it is open in this process. */
  get(sessionId: string): JournaledAuthState | undefined {
    return this.entries.get(sessionId)?.auth;
  }

  /** Stops a session's open auth state from writing before its objects are removed; returns it. */
  async disarm(sessionId: string): Promise<JournaledAuthState | undefined> {
    const loading = this.loading.get(sessionId);
    if (loading) await loading.catch(() => undefined);
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    this.entries.delete(sessionId);
    await entry.auth.discard();
    return entry.auth;
  }

  /** Persists what every open auth state has pending. Rejects if any cannot (nothing is dropped). */
  async flushAll(): Promise<void> {
    const results = await Promise.allSettled([...this.entries.values()].map((e) => e.auth.flush()));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      throw new WorkerError('STORAGE_UNAVAILABLE', `${failed.length} session(s) could not be persisted: ${describeError(failed[0])}`, { cause: failed[0] });
    }
  }

  /** The loads under way (a shutdown waits for them before the final flush). */
  loadsInProgress(): Array<Promise<unknown>> {
    return [...this.loading.values()];
  }

  /** After a successful `flushAll`: releases every auth state (shutdown). */
  releaseAll(): void {
    for (const entry of this.entries.values()) entry.auth.retire();
    this.entries.clear();
  }

  private async entryFor(sessionId: string): Promise<OpenEntry> {
    const open = this.entries.get(sessionId);
    if (open) return open;
    let loading = this.loading.get(sessionId);
    if (!loading) {
      loading = JournaledAuthState.load(sessionId, this.blobs, this.codec, this.options, { meta: this.meta.anchorOf(sessionId), ledger: this.meta.ledgerFor(sessionId) })
        .then((auth) => {
          const entry: OpenEntry = { auth, handles: 0 };
          this.entries.set(sessionId, entry);
          return entry;
        })
        .finally(() => this.loading.delete(sessionId));
      this.loading.set(sessionId, loading);
    }
    return loading;
  }

  private handle(sessionId: string, entry: OpenEntry): PersistentAuthStateHandle {
    const { auth } = entry;
    let closed = false;
    return {
      state: auth.state,
      saveCreds: () => auth.saveCreds(),
      isLinked: () => auth.isLinked(),
      get writes() {
        return auth.writes;
      },
      flush: () => auth.flush(),
      close: async () => {
        if (closed) return;
        // Rejects if storage refuses: the handle stays open (close again later), and the state
        // keeps retrying in the background, so nothing is lost.
        await auth.flush();
        if (closed) return;
        closed = true;
        entry.handles--;
        if (entry.handles <= 0 && this.entries.get(sessionId) === entry) {
          auth.retire();
          this.entries.delete(sessionId);
          // A handover writes the metadata right after this: it records the head left here.
          const ledger = this.meta.ledgerFor(sessionId);
          ledger.retired = { head: auth.head, asOfRevision: ledger.metaRevision };
        }
      },
    };
  }
}
