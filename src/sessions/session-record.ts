import type { SessionMeta, SessionStore } from '../storage/types.js';

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

  private async write(workerId: string, jid: string | undefined): Promise<void> {
    const existing = this.known ?? (await this.store.loadMeta(this.session.id));
    const now = Date.now();
    const linkedAs = jid ?? existing?.jid;
    const meta: SessionMeta = {
      sessionId: this.session.id,
      numberId: this.session.numberId,
      phoneNumber: this.session.phoneNumber,
      workerId,
      ...(linkedAs ? { jid: linkedAs } : {}),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.saveMeta(meta);
    this.known = meta;
  }
}
