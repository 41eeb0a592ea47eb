import type { Logger } from 'pino';
import type { Command } from '../commands/command.js';
import { parseSessionId, phoneDigits } from '../commands/session-identity.js';
import type { SessionMeta } from '../storage/types.js';
import { isWorkerError, OwnedByAnotherWorker, WorkerError } from '../util/errors.js';
import { KeyedSerialQueue } from '../util/keyed-serial-queue.js';
import { Session, type SessionDeps } from './session.js';
import { SessionRecord } from './session-record.js';
import { isAnsweredCommand, runAnswered, unknownSessionAnswer, type FailureAnswer } from './answered-commands.js';
import { inLaneSpan } from './lane-span.js';

export interface SessionManagerOptions {
  maxSessions: number;
  restoreConcurrency: number;
  /** How long a restore waits for one session to connect before moving to the next. */
  restoreSettleTimeoutMs: number;
}

/**
 * The sessions this worker drives. Commands for one number apply in order (one queue per
 * numberId); different numbers proceed in parallel. A command that cannot be done throws a
 * WorkerError whose code becomes the `command_rejected` reason.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly queue = new KeyedSerialQueue<number>();
  private readonly log: Logger;
  /**
   * While a restore runs: its listing of the owned sessions, then per number the end of its
   * restore. A command for such a number (a send redelivered after a crash, say) waits for it
   * instead of finding the session "not started" a moment before it reconnects.
   */
  private restoreListing: Promise<void> | undefined;
  private readonly restoring = new Map<number, Promise<void>>();

  constructor(
    private readonly deps: SessionDeps,
    private readonly opts: SessionManagerOptions,
  ) {
    this.log = deps.logger.child({ component: 'sessions' });
  }

  /** Sessions holding (or about to hold) a socket: what WORKER_MAX_SESSIONS limits. */
  get liveCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.live || this.opening.has(s.id)) n++;
    return n;
  }

  get connectedCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.status === 'connected') n++;
    return n;
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  /**
   * Applies a command in its number's lane. Work that only waits for the broker (an event's
   * confirm) is deferred out of the lane: the returned promise still covers it, so the command
   * is acked only once everything it caused is confirmed.
   */
  execute(command: Command): Promise<void> {
    const deferred: Array<Promise<unknown>> = [];
    return inLaneSpan(this.deps.telemetry, command, (started) =>
      this.afterRestoreOf(command.numberId)
        .then(() =>
          this.queue.run(command.numberId, () => {
            started();
            return this.apply(command, (p) => deferred.push(p));
          }),
        )
        .then(() => Promise.all(deferred))
        .then(() => undefined),
    );
  }

  /** Resolves once a restore in progress has reopened this number (at once when none runs; see `afterRestoreOf`). */
  whenRestored(numberId: number): Promise<void> {
    return this.afterRestoreOf(numberId);
  }

  /**
   * Waits (outside the number's lane, which the restore itself needs) until a restore in
   * progress has reopened this number, at most `restoreSettleTimeoutMs` per step: past that the
   * command goes on and meets the session as it is.
   */
  private async afterRestoreOf(numberId: number): Promise<void> {
    if (!this.restoreListing) return;
    const bound = this.opts.restoreSettleTimeoutMs;
    await settledWithin(this.restoreListing, bound);
    const pending = this.restoring.get(numberId);
    if (pending) await settledWithin(pending, bound);
  }

  private async apply(cmd: Command, defer: (confirmed: Promise<unknown>) => void): Promise<void> {
    // Commands answered by an event: a session unknown here will not appear by retrying, so
    // UNKNOWN_SESSION is their answer (the command's own failure event), not a rejection.
    if (isAnsweredCommand(cmd)) {
      const session = await this.ownedOrAnswered(cmd, unknownSessionAnswer(this.deps.events, cmd));
      return session ? runAnswered(session, cmd, defer) : undefined;
    }
    switch (cmd.action) {
      case 'release':
        return this.handOver(cmd);
      case 'create': {
        if (!this.sessions.get(cmd.sessionId!)?.live) await this.ensureOwnership(cmd);
        // The number's settings are stored first (the socket is configured with them); then recording
        // the owner and opening the socket need not wait for each other.
        await this.withCapacity(cmd, async (session) => {
          await session.useSettings(cmd.settings);
          await Promise.all([session.claim(), session.create(cmd.requestId)]);
        });
        return;
      }
      case 'request_pairing_code': {
        if (!this.sessions.get(cmd.sessionId!)?.live) await this.ensureOwnership(cmd);
        await this.withCapacity(cmd, async (session) => {
          await session.claim();
          await session.requestPairingCode(cmd.requestId, phoneDigits(cmd.phoneNumber!));
        });
        return;
      }
      case 'reconnect': {
        const session = await this.find(cmd);
        if (!session.live) await this.ensureOwnership({ ...cmd, sessionId: session.id, phoneNumber: session.phoneNumber });
        await this.withCapacity({ ...cmd, sessionId: session.id, phoneNumber: session.phoneNumber }, (s) => s.reconnect(cmd.requestId));
        return;
      }
      case 'disconnect':
        return (await this.findOwned(cmd)).disconnect(cmd.requestId);
      case 'logout':
        return (await this.findOwned(cmd)).logout(cmd.requestId);
      case 'status':
        return (await this.findOwned(cmd)).publishStatus(cmd.requestId);
      case 'delete': {
        const session = await this.findOwned(cmd);
        await session.delete(cmd.requestId);
        this.sessions.delete(session.id);
        return;
      }
    }
  }

  /** `findOwned`, or, for an unknown session, undefined once `answer` (the command's failure event) is published. */
  private async ownedOrAnswered(cmd: Command & { requestId: string }, answer: FailureAnswer): Promise<Session | undefined> {
    try {
      return await this.findOwned(cmd);
    } catch (err) {
      if (!isWorkerError(err, 'UNKNOWN_SESSION')) throw err;
      await answer({ numberId: cmd.numberId, sessionId: cmd.sessionId, requestId: cmd.requestId }, { code: err.code, reason: err.message });
      return undefined;
    }
  }

  /** An existing session, from memory or from storage; UNKNOWN_SESSION otherwise. */
  private async find(cmd: Command): Promise<Session> {
    return (await this.locate(cmd)).session;
  }

  /**
   * `find`, for a command that acts on a session only its owner may touch: a session live here
   * is ours (this process holds the worker's exclusive queue); one whose stored owner is another
   * worker that is running belongs to that worker, and the command is moved there
   * (OwnedByAnotherWorker). A session whose recorded owner is not running has no driver: the
   * command is carried out here, on what is stored.
   */
  private async findOwned(cmd: Command): Promise<Session> {
    const { session, meta } = await this.locate(cmd);
    if (session.live) return session;
    const owner = (meta ?? (await this.deps.store.loadMeta(session.id)))?.workerId;
    if (owner && owner !== this.deps.workerId && (await this.deps.ownership?.isWorkerRunning(owner))) {
      throw new OwnedByAnotherWorker(owner, session.id);
    }
    return session;
  }

  private async locate(cmd: Command): Promise<{ session: Session; meta?: SessionMeta | undefined }> {
    if (cmd.sessionId) {
      const known = this.sessions.get(cmd.sessionId);
      if (known) return { session: known };
    } else {
      for (const s of this.sessions.values()) if (s.numberId === cmd.numberId) return { session: s };
    }
    const meta = await this.findStored(cmd);
    if (!meta) {
      throw new WorkerError(
        'UNKNOWN_SESSION',
        `no session for numberId ${cmd.numberId}${cmd.sessionId ? ` (${cmd.sessionId})` : ''} on worker ${this.deps.workerId}`,
      );
    }
    // Not kept in memory: an object per stored session looked up would grow the map without
    // bound; a session enters the map when it is opened (create, reconnect, restore).
    return { session: new Session(meta.sessionId, meta.numberId, meta.phoneNumber, this.deps), meta };
  }

  /**
   * The stored session a command names. Without a phone, the session ids in one storage listing
   * say which belong to the numberId (`session_<numberId>_<phone>`), so only those metadata
   * objects are read; this worker's own session wins if there are several.
   */
  private async findStored(cmd: Command): Promise<SessionMeta | undefined> {
    if (cmd.sessionId) return this.deps.store.loadMeta(cmd.sessionId);
    const ids = (await this.deps.store.listSessionIds()).filter((id) => parseSessionId(id)?.numberId === cmd.numberId);
    const metas = (await Promise.all(ids.map((id) => this.deps.store.loadMeta(id)))).filter(
      (m): m is SessionMeta => m !== undefined && m.numberId === cmd.numberId,
    );
    return metas.find((m) => m.workerId === this.deps.workerId) ?? metas[0];
  }

  /**
   * The backend reassigned this number to us, but its metadata names another worker. If that
   * worker is running, ask it to hand the session over and try again later (the command is
   * retried with backoff): the session opens here only once the old owner has let go. If it is
   * not running, nobody drives the number: take it over now.
   */
  private async ensureOwnership(cmd: Command): Promise<void> {
    const ownership = this.deps.ownership;
    if (!ownership || !cmd.sessionId || !cmd.phoneNumber) return;
    const meta = await this.deps.store.loadMeta(cmd.sessionId);
    if (!meta || meta.workerId === this.deps.workerId) return;
    if (!(await ownership.isWorkerRunning(meta.workerId))) {
      this.log.warn({ sessionId: cmd.sessionId, previousOwner: meta.workerId }, 'taking over a session whose worker is not running');
      return;
    }
    // Only a command that names this worker reassigns the number. One that names nobody (it
    // reached us by default) belongs to the running owner, and goes there.
    if (cmd.workerId !== this.deps.workerId) throw new OwnedByAnotherWorker(meta.workerId, cmd.sessionId);
    await ownership.requestHandover(meta.workerId, {
      numberId: cmd.numberId,
      sessionId: cmd.sessionId,
      phoneNumber: cmd.phoneNumber,
      handoverTo: this.deps.workerId,
      requestId: cmd.requestId,
    });
    throw new WorkerError(
      'OWNED_ELSEWHERE',
      `session ${cmd.sessionId} is driven by worker ${meta.workerId}; it was asked to hand it over and the command will be retried`,
    );
  }

  /**
   * The `release` command: let the session go (no logout); with `handoverTo`, record the new owner.
   * Only a worker may send it (the command handler checks the broker-validated sender).
   */
  private async handOver(cmd: Command): Promise<void> {
    const handoverTo = cmd.action === 'release' ? cmd.handoverTo : undefined;
    const session = cmd.sessionId ? this.sessions.get(cmd.sessionId) : [...this.sessions.values()].find((s) => s.numberId === cmd.numberId);
    if (session) {
      await session.handOver(cmd.requestId, handoverTo);
      return;
    }
    // Not running here: only the ownership record may need to move.
    const meta = await this.findStored(cmd);
    if (meta && handoverTo && meta.workerId === this.deps.workerId) {
      await new SessionRecord({ id: meta.sessionId, ...meta }, this.deps.store, this.deps.workerId).adopt(meta).handOver(handoverTo);
    }
  }

  /** Sessions between the capacity check and being live: they count against WORKER_MAX_SESSIONS. */
  private readonly opening = new Set<string>();

  /**
   * Runs `open` on the command's session, within WORKER_MAX_SESSIONS. Opening a session takes
   * storage round trips, and commands for different numbers run in parallel: the slot is
   * reserved synchronously at the check, so two creates can never both pass it for the last
   * free slot. A session new to this worker enters the map only once it has a slot, and leaves
   * it again if it did not come to life, so refused or failed creates cannot grow the map.
   */
  private async withCapacity<T>(cmd: Pick<Command, 'sessionId' | 'numberId' | 'phoneNumber'>, open: (session: Session) => Promise<T>): Promise<T> {
    const sessionId = cmd.sessionId!;
    const known = this.sessions.get(sessionId);
    if (known && (known.live || this.opening.has(sessionId))) return open(known);
    this.ensureCapacity();
    const session = known ?? new Session(sessionId, cmd.numberId, cmd.phoneNumber!, this.deps);
    this.sessions.set(sessionId, session);
    this.opening.add(sessionId);
    try {
      return await open(session);
    } catch (err) {
      if (!session.live && this.sessions.get(sessionId) === session && !known) this.sessions.delete(sessionId);
      throw err;
    } finally {
      this.opening.delete(sessionId);
    }
  }

  private ensureCapacity(): void {
    if (this.liveCount >= this.opts.maxSessions) {
      throw new WorkerError(
        'CAPACITY',
        `worker ${this.deps.workerId} already drives ${this.liveCount} sessions (WORKER_MAX_SESSIONS=${this.opts.maxSessions})`,
      );
    }
  }

  /**
   * Reconnects every linked session this worker owns, with its saved credentials (no QR), at
   * most `restoreConcurrency` at a time so that hundreds of sessions do not stampede.
   */
  async restore(): Promise<{ restored: number; skipped: number }> {
    let listed!: () => void;
    const listing = new Promise<void>((resolve) => (listed = resolve));
    this.restoreListing = listing;
    const done = new Map<number, () => void>();
    let owned: SessionMeta[];
    try {
      owned = (await this.deps.store.listMeta()).filter((m) => m.workerId === this.deps.workerId && !this.sessions.get(m.sessionId)?.live);
      for (const meta of owned) this.restoring.set(meta.numberId, new Promise<void>((resolve) => done.set(meta.numberId, resolve)));
    } finally {
      listed();
    }
    const finished = (numberId: number) => {
      done.get(numberId)?.();
      this.restoring.delete(numberId);
    };
    let restored = 0;
    let skipped = 0;
    let next = 0;
    const runOne = async (meta: SessionMeta): Promise<void> => {
      if (this.liveCount >= this.opts.maxSessions) {
        this.log.warn({ sessionId: meta.sessionId }, 'not restored: capacity reached');
        skipped++;
        return;
      }
      const started = performance.now();
      await this.queue.run(meta.numberId, async () => {
        // A command may have started this session since the list was taken.
        if (this.sessions.get(meta.sessionId)?.live) return;
        const session = new Session(meta.sessionId, meta.numberId, meta.phoneNumber, this.deps);
        const auth = await this.deps.store.openAuthState(meta.sessionId);
        if (!auth.isLinked()) {
          await auth.close();
          skipped++;
          return;
        }
        session.adopt(meta, auth);
        this.sessions.set(meta.sessionId, session);
        await session.create(undefined);
        restored++;
        await session.waitFor((s) => s.status !== 'starting', this.opts.restoreSettleTimeoutMs);
        this.deps.telemetry?.metrics.duration('restore', (performance.now() - started) / 1000, { state: session.status });
      });
    };
    const workers = Array.from({ length: Math.min(this.opts.restoreConcurrency, owned.length) }, async () => {
      while (next < owned.length) {
        const meta = owned[next++]!;
        await runOne(meta)
          .catch((err) => {
            skipped++;
            this.log.error({ sessionId: meta.sessionId, err }, 'restore failed');
          })
          .finally(() => finished(meta.numberId));
      }
    });
    await Promise.all(workers);
    if (this.restoreListing === listing) this.restoreListing = undefined;
    if (owned.length) this.log.info({ restored, skipped }, 'sessions restored');
    return { restored, skipped };
  }

  /** Waits for commands in progress, then stops every session for the shutdown (no logout, no event). */
  async shutdown(): Promise<void> {
    await this.queue.idle();
    await Promise.allSettled([...this.sessions.values()].map((s) => s.stopForShutdown()));
  }
}

/** Resolves when `p` settles or after `ms`, whichever comes first (never rejects). */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
