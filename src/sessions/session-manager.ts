import type { Logger } from 'pino';
import type { Command } from '../commands/command.js';
import { phoneDigits } from '../commands/session-identity.js';
import type { SessionMeta } from '../storage/types.js';
import { describeError, isWorkerError, WorkerError } from '../util/errors.js';
import { KeyedSerialQueue } from '../util/keyed-serial-queue.js';
import { isLinked, Session, type SessionDeps } from './session.js';

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

  /** WhatsApp messages sent and received since start (heartbeats). */
  get messageCount(): number {
    const stats = this.deps.messaging?.stats;
    return stats ? stats.sent + stats.received : 0;
  }

  /**
   * Applies a command in its number's lane. Work that only waits for the broker (an event's
   * confirm) is deferred out of the lane: the returned promise still covers it, so the command
   * is acked only once everything it caused is confirmed.
   */
  execute(command: Command): Promise<void> {
    const deferred: Array<Promise<unknown>> = [];
    return this.queue
      .run(command.numberId, () => this.apply(command, (p) => deferred.push(p)))
      .then(() => Promise.all(deferred))
      .then(() => undefined);
  }

  private async apply(cmd: Command, defer: (confirmed: Promise<unknown>) => void): Promise<void> {
    switch (cmd.action) {
      case 'send_message': {
        const session = await this.find(cmd).catch(async (err) => {
          if (!isWorkerError(err, 'UNKNOWN_SESSION')) throw err;
          // Will not change by retrying: answered as the send's outcome.
          await this.deps.events.message(
            'message_failed',
            { numberId: cmd.numberId, sessionId: cmd.sessionId, requestId: cmd.requestId },
            { to: cmd.to, code: err.code, reason: err.message },
          );
          return undefined;
        });
        await session?.send(cmd, defer);
        return;
      }
      case 'release':
        return this.release(cmd);
      case 'create': {
        const session = this.obtain(cmd);
        if (!session.live) await this.ensureOwnership(cmd);
        // Recording the owner and opening the socket need not wait for each other.
        await this.withCapacity(session, () => Promise.all([session.claim(), session.create(cmd.requestId)]));
        return;
      }
      case 'request_pairing_code': {
        const session = this.obtain(cmd);
        if (!session.live) await this.ensureOwnership(cmd);
        await this.withCapacity(session, async () => {
          await session.claim();
          await session.requestPairingCode(cmd.requestId, phoneDigits(cmd.phoneNumber!));
        });
        return;
      }
      case 'reconnect': {
        const session = await this.find(cmd);
        if (!session.live) await this.ensureOwnership({ ...cmd, sessionId: session.id, phoneNumber: session.phoneNumber });
        await this.withCapacity(session, () => session.reconnect(cmd.requestId));
        return;
      }
      case 'disconnect':
        return (await this.find(cmd)).disconnect(cmd.requestId);
      case 'logout':
        return (await this.find(cmd)).logout(cmd.requestId);
      case 'status':
        return (await this.find(cmd)).publishStatus(cmd.requestId);
      case 'delete': {
        const session = await this.find(cmd);
        await session.delete(cmd.requestId);
        this.sessions.delete(session.id);
        return;
      }
    }
  }

  /** The session a command names, creating the in-memory object for a new one. */
  private obtain(cmd: Command): Session {
    const sessionId = cmd.sessionId!;
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new Session(sessionId, cmd.numberId, cmd.phoneNumber!, this.deps);
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  /** An existing session, from memory or from storage; UNKNOWN_SESSION otherwise. */
  private async find(cmd: Command): Promise<Session> {
    if (cmd.sessionId) {
      const known = this.sessions.get(cmd.sessionId);
      if (known) return known;
    } else {
      for (const s of this.sessions.values()) if (s.numberId === cmd.numberId) return s;
    }
    const meta = await this.findStored(cmd);
    if (!meta) {
      throw new WorkerError('UNKNOWN_SESSION', `no session for numberId ${cmd.numberId}${cmd.sessionId ? ` (${cmd.sessionId})` : ''} on worker ${this.deps.workerId}`);
    }
    const session = new Session(meta.sessionId, meta.numberId, meta.phoneNumber, this.deps);
    this.sessions.set(meta.sessionId, session);
    return session;
  }

  private async findStored(cmd: Command): Promise<SessionMeta | undefined> {
    if (cmd.sessionId) return this.deps.store.loadMeta(cmd.sessionId);
    const all = await this.deps.store.listMeta();
    return all.find((m) => m.numberId === cmd.numberId && m.workerId === this.deps.workerId);
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
    await ownership.requestHandover(meta.workerId, {
      numberId: cmd.numberId,
      sessionId: cmd.sessionId,
      phoneNumber: cmd.phoneNumber,
      handoverTo: this.deps.workerId,
      requestId: cmd.requestId,
    });
    throw new WorkerError('OWNED_ELSEWHERE', `session ${cmd.sessionId} is driven by worker ${meta.workerId}; it was asked to hand it over and the command will be retried`);
  }

  /** `release`: let the session go (no logout); with `handoverTo`, record the new owner. */
  private async release(cmd: Command): Promise<void> {
    const handoverTo = cmd.action === 'release' ? cmd.handoverTo : undefined;
    const session = cmd.sessionId ? this.sessions.get(cmd.sessionId) : [...this.sessions.values()].find((s) => s.numberId === cmd.numberId);
    if (session) {
      await session.handOver(cmd.requestId, handoverTo);
      return;
    }
    // Not running here: only the ownership record may need to move.
    const meta = await this.findStored(cmd);
    if (meta && handoverTo && meta.workerId === this.deps.workerId) {
      await this.deps.store.saveMeta({ ...meta, workerId: handoverTo, updatedAt: Date.now() });
    }
  }

  /** Sessions between the capacity check and being live: they count against WORKER_MAX_SESSIONS. */
  private readonly opening = new Set<string>();

  /**
   * Opening a session takes storage round trips, and commands for different numbers run in
   * parallel: the slot is reserved synchronously at the check, so two creates can never both
   * pass it for the last free slot.
   */
  private async withCapacity<T>(session: Session, open: () => Promise<T>): Promise<T> {
    if (session.live || this.opening.has(session.id)) return open();
    this.ensureCapacity();
    this.opening.add(session.id);
    try {
      return await open();
    } finally {
      this.opening.delete(session.id);
    }
  }

  private ensureCapacity(): void {
    if (this.liveCount >= this.opts.maxSessions) {
      throw new WorkerError('CAPACITY', `worker ${this.deps.workerId} already drives ${this.liveCount} sessions (WORKER_MAX_SESSIONS=${this.opts.maxSessions})`);
    }
  }

  /**
   * Reconnects every linked session this worker owns, with its saved credentials (no QR), at
   * most `restoreConcurrency` at a time so that hundreds of sessions do not stampede.
   */
  async restore(): Promise<{ restored: number; skipped: number }> {
    const owned = (await this.deps.store.listMeta()).filter((m) => m.workerId === this.deps.workerId && !this.sessions.get(m.sessionId)?.live);
    let restored = 0;
    let skipped = 0;
    let next = 0;
    const runOne = async (meta: SessionMeta): Promise<void> => {
      if (this.liveCount >= this.opts.maxSessions) {
        this.log.warn({ sessionId: meta.sessionId }, 'not restored: capacity reached');
        skipped++;
        return;
      }
      await this.queue.run(meta.numberId, async () => {
        // A command may have started this session since the list was taken.
        if (this.sessions.get(meta.sessionId)?.live) return;
        const session = new Session(meta.sessionId, meta.numberId, meta.phoneNumber, this.deps);
        const auth = await this.deps.store.openAuthState(meta.sessionId);
        if (!isLinked(auth)) {
          await auth.close();
          skipped++;
          return;
        }
        session.adopt(meta, auth);
        this.sessions.set(meta.sessionId, session);
        await session.create(undefined);
        restored++;
        await session.waitFor((s) => s.status !== 'starting', this.opts.restoreSettleTimeoutMs);
      });
    };
    const workers = Array.from({ length: Math.min(this.opts.restoreConcurrency, owned.length) }, async () => {
      while (next < owned.length) {
        const meta = owned[next++]!;
        await runOne(meta).catch((err) => {
          skipped++;
          this.log.error({ sessionId: meta.sessionId, err: describeError(err) }, 'restore failed');
        });
      }
    });
    await Promise.all(workers);
    if (owned.length) this.log.info({ restored, skipped }, 'sessions restored');
    return { restored, skipped };
  }

  /** Waits for commands in progress, then releases every session (no logout). */
  async shutdown(): Promise<void> {
    await this.queue.idle();
    await Promise.allSettled([...this.sessions.values()].map((s) => s.release()));
  }
}
