import type { SessionMeta, SessionStore } from '../storage/types.js';
import { applySettingsPatch, storedSettings, type SessionSettingsPatch } from '../util/session-settings.js';

/** Which session a record is about (its identity never changes). */
export interface SessionIdentity {
  readonly id: string;
  readonly numberId: number;
  readonly phoneNumber: string;
}

/**
 * A session's stored metadata (`SessionMeta`): which worker owns (drives) the number, and its
 * JID once linked. The one place that writes it, for the three reasons there are: this worker
 * claims the session (a create, a pairing code, a link), the session is handed over to another
 * worker (`release` with `handoverTo`), whether it runs here or is only stored. Keeps the last
 * record read or written, so that an unchanged owner costs no storage round trip.
 */
export class SessionRecord {
  private known: SessionMeta | undefined;

  constructor(
    private readonly session: SessionIdentity,
    private readonly store: SessionStore,
    /** This worker. */
    private readonly workerId: string,
  ) {}

  /** Take over a record already loaded (a restore, a handover of a session not running here). */
  adopt(meta: SessionMeta): this {
    this.known = meta;
    return this;
  }

  /** The stored record, read once (undefined: none yet); the number's settings come with it. */
  async load(): Promise<SessionMeta | undefined> {
    if (this.known) return this.known;
    const meta = await this.store.loadMeta(this.session.id);
    // A write meanwhile (a claim) is newer than this read.
    return (this.known ??= meta);
  }

  /** When the account was linked, as last read or written (undefined: not linked, or linked before this was recorded). */
  get linkedAt(): number | undefined {
    const at = this.known?.linkedAt;
    return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
  }

  /** The number's own settings as last read or written (checked: what storage holds is not trusted blindly). */
  get settings(): SessionSettingsPatch | undefined {
    return storedSettings(this.known?.settings);
  }

  /**
   * Stores the number's settings with `patch` applied, keeping the owner as recorded (this worker
   * when none is); resolves once written. Returns the stored overrides.
   */
  async saveSettings(patch: SessionSettingsPatch): Promise<SessionSettingsPatch> {
    const existing = await this.load();
    const settings = applySettingsPatch(storedSettings(existing?.settings), patch);
    await this.write(existing?.workerId ?? this.workerId, undefined, settings);
    return settings;
  }

  /** Records this worker as the owner (restores look for it), and the account's JID once linked. Writes only what changed. */
  async claim(jid?: string): Promise<void> {
    const known = this.known;
    if (known && known.workerId === this.workerId && (jid === undefined || jid === known.jid)) return;
    await this.write(this.workerId, jid);
  }

  /** Records `workerId` as the new owner: it waits for exactly this record before it opens the session. */
  async handOver(workerId: string): Promise<void> {
    await this.write(workerId, undefined);
  }

  private async write(workerId: string, jid: string | undefined, settings?: SessionSettingsPatch): Promise<void> {
    const existing = this.known ?? (await this.store.loadMeta(this.session.id));
    const now = Date.now();
    const linkedAs = jid ?? existing?.jid;
    // The first link (no JID before) starts the warm-up; a later write keeps the time it had.
    const linkedAt = existing?.linkedAt ?? (jid && !existing?.jid ? now : undefined);
    // The settings travel with every write: a claim or a handover never drops them.
    const keep = settings ?? storedSettings(existing?.settings);
    const meta: SessionMeta = {
      sessionId: this.session.id,
      numberId: this.session.numberId,
      phoneNumber: this.session.phoneNumber,
      workerId,
      ...(linkedAs ? { jid: linkedAs } : {}),
      ...(linkedAt !== undefined ? { linkedAt } : {}),
      ...(keep && Object.keys(keep).length ? { settings: keep } : {}),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.saveMeta(meta);
    this.known = meta;
  }
}
