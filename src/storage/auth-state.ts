import type { AuthenticationState, SignalDataSet, SignalDataTypeMap } from '@whiskeysockets/baileys';
import { AuthJournalWriter, type AuthStateOptions } from './auth-journal-writer.js';
import { loadAuthJournal, type JournalAnchor, type LoadedJournal } from './auth-journal-loader.js';
import { AuthKeyStore } from './auth-key-store.js';
import type { Codec } from './encryption.js';
import type { SessionLedger } from './auth-chain.js';
import type { AuthChainLink, BlobStore } from './types.js';

/**
 * One session's Baileys auth state: held in memory, persisted as a journal.
 *
 * Reads: everything is loaded once, at open (`loadAuthJournal`); `keys.get` is then served from
 * memory (`AuthKeyStore`).
 *
 * Writes are coalesced: `keys.set` and `saveCreds` only mark what changed, and ONE object (a
 * journal segment, or a snapshot once the journal has grown) is written per flush window
 * (`AuthJournalWriter`). Restore = the highest snapshot, then every segment above it, in
 * sequence order.
 *
 * One instance per session per process (the session store shares it between handles); a
 * session is owned by a single worker, so there is a single writer.
 *
 * Rollback detection: the journal is a hash chain, verified at load (`walkChain`) and anchored
 * to the session's metadata (`checkAgainstMeta`); see auth-chain.ts and the session store for
 * what is (and is not) detected.
 */
export class JournaledAuthState {
  readonly state: AuthenticationState;
  private readonly keyStore: AuthKeyStore;
  private readonly journal: AuthJournalWriter;
  private warnedAfterRetire = false;

  private constructor(
    readonly sessionId: string,
    loaded: LoadedJournal,
    blobs: BlobStore,
    codec: Codec,
    private readonly opts: AuthStateOptions,
    ledger: SessionLedger,
  ) {
    this.keyStore = new AuthKeyStore(loaded.keys);
    this.journal = new AuthJournalWriter(sessionId, () => this.state.creds, this.keyStore, loaded.position, blobs, codec, opts, ledger);
    this.state = {
      creds: loaded.creds,
      keys: {
        get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => this.keyStore.get(type, ids),
        set: async (data: SignalDataSet) => this.setKeys(data),
        clear: async () => this.clearKeys(),
      },
    };
    if (loaded.stale) {
      // Objects under an old key (or accepted plaintext): rewrite everything under the current one.
      this.journal.snapshotRequested();
    }
  }

  /**
   * Loads a session's auth state (fresh creds when nothing is stored), verifying the journal's
   * chain and anchoring it to the session's metadata (`anchor.meta`, read by the caller).
   * Rejects with STORAGE_ROLLBACK rather than load older credentials than were written.
   */
  static async load(sessionId: string, blobs: BlobStore, codec: Codec, opts: AuthStateOptions, anchor: JournalAnchor): Promise<JournaledAuthState> {
    const loaded = await loadAuthJournal(sessionId, blobs, codec, opts.logger, anchor);
    return new JournaledAuthState(sessionId, loaded, blobs, codec, opts, anchor.ledger);
  }

  /** Objects this session has written (snapshots and segments). */
  get writes(): number {
    return this.journal.writes;
  }

  /** Baileys' `creds.update`: the creds object was changed in place; persist it with the next write. */
  saveCreds(): void {
    if (!this.accepting('creds update')) return;
    this.journal.credsChanged();
  }

  /**
   * Linked = the phone accepted this device: both `me` and `account` are set. `me` alone is not
   * enough: Baileys (7.0.0-rc14) sets `creds.me` in `requestPairingCode` before any phone accepted
   * anything (lib/Socket/socket.js), while `account` (the signed device identity) is only written,
   * together with `me`, by `configureSuccessfulPairing` on `pair-success`
   * (lib/Utils/validate-connection.js). The one definition of "linked" (AuthStateHandle.isLinked).
   */
  isLinked(): boolean {
    return !!this.state.creds.me && !!this.state.creds.account;
  }

  /** The newest object this state is built on (null: nothing stored): what the metadata records as `authHead`. */
  get head(): AuthChainLink | null {
    return this.journal.head ?? null;
  }

  /** The highest sequence number seen in storage or used by an attempt (a logout's `authSeqFloor`). */
  get highestSeq(): number {
    return this.journal.highestSeq;
  }

  /** Something of this session is in storage (loaded at open, or written since). */
  get persisted(): boolean {
    return this.journal.persisted;
  }

  /** Something is waiting to be written. */
  get dirty(): boolean {
    return this.journal.dirty;
  }

  /** Writes what is pending now. Rejects (STORAGE_UNAVAILABLE) while storage refuses; nothing is dropped. */
  flush(): Promise<void> {
    return this.journal.flush();
  }

  /** After a successful final flush: nothing more will be written by this instance. */
  retire(): void {
    this.journal.retire();
  }

  /**
   * The credentials are being removed (logout / delete): stop writing for good, and wait for a
   * write in flight, so that nothing lands after the removal and resurrects them.
   */
  discard(): Promise<void> {
    return this.journal.discard();
  }

  /** Re-encryption / compaction on demand: the next write is a full snapshot. */
  requestSnapshot(): void {
    if (!this.accepting('snapshot request')) return;
    this.journal.snapshotRequested();
  }

  private setKeys(data: SignalDataSet): void {
    const accepting = this.accepting('key update');
    this.keyStore.set(data, accepting);
    if (accepting) this.journal.keysChanged();
  }

  private clearKeys(): void {
    this.keyStore.clear();
    this.requestSnapshot();
  }

  /** Changes are written only while open; after a release they stay in memory (warned about once). */
  private accepting(what: string): boolean {
    const mode = this.journal.mode;
    if (mode === 'open') return true;
    if (mode === 'retired' && !this.warnedAfterRetire) {
      this.warnedAfterRetire = true;
      this.opts.logger.warn({ sessionId: this.sessionId, what }, 'auth state used after close: change kept in memory only');
    }
    return false;
  }
}
