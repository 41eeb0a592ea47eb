import type { Logger } from 'pino';
import { SingleTimer } from '../util/backoff.js';

/** Why a worker drives nothing: another process holds its queue, or it was cut off past its lease. */
export type StandbyCause = 'queue-held' | 'lease-expired';

/**
 * What this process is doing for its WORKER_ID. Its worker queue has one exclusive consumer in the
 * whole broker: holding it is what entitles a process to drive that id's sessions.
 */
export type WorkerState =
  /** Not yet holding its worker queue, nor refused it. */
  | { kind: 'starting' }
  /** Holds its worker queue and drives its sessions. */
  | { kind: 'active'; since: number }
  /**
   * Drives its sessions, the broker is reachable, but it does not hold its queue at this moment
   * (back from an outage, or its channel closed): the next attempt makes it `active` or `standby`.
   */
  | { kind: 'reclaiming'; since: number }
  /** Drives its sessions with the broker unreachable since `since`; lets them go at `leaseEndsAt`. */
  | { kind: 'cut-off'; since: number; leaseEndsAt: number }
  /** Drives nothing; tries to take its queue every STANDBY_RETRY_MS and restores the sessions when it does. */
  | { kind: 'standby'; since: number; cause: StandbyCause }
  | { kind: 'stopping'; since: number }
  | { kind: 'stopped' };

export type WorkerStateKind = WorkerState['kind'];

/** The states in which this process drives its sessions. */
export function drivesSessions(state: WorkerState): boolean {
  return state.kind === 'active' || state.kind === 'reclaiming' || state.kind === 'cut-off';
}

export type StateListener = (next: WorkerState, previous: WorkerState) => void;

/**
 * The worker's state machine and its ownership lease: the only place the state changes, each
 * change logged once. The worker feeds it what the broker says (`queueHeld`, `queueLost`,
 * `queueRefused`, `brokerLost`, `brokerBack`) and its own lifecycle (`stopping`, `stopped`), and
 * acts on the changes it reports (restore the sessions on entering `active` from a state that
 * drives none; close them, without logging out, on entering `standby` from one that drives them).
 *
 * The lease: sessions keep running through a broker outage for `leaseMs` (OWNERSHIP_LEASE_MS).
 * Past it this process can no longer be sure it still owns them (a replica with its WORKER_ID may
 * hold the queue by then), so it stands by. Back within the lease, it keeps driving them until
 * the broker answers its attempt to take the queue again: held, it stays; refused, it stands by.
 */
export class OwnershipLease {
  private current: WorkerState = { kind: 'starting' };
  private downSince: number | null = Date.now();
  private readonly timer = new SingleTimer();
  private readonly listeners = new Set<StateListener>();

  constructor(private readonly opts: { leaseMs: number; logger: Logger }) {}

  get state(): WorkerState {
    return this.current;
  }

  /** When the broker became unreachable (epoch ms; from construction until it is first reached), or null while connected. */
  get brokerDownSince(): number | null {
    return this.downSince;
  }

  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first state (the current one included) that `accept` accepts. */
  waitFor(accept: (state: WorkerState) => boolean): Promise<WorkerState> {
    if (accept(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const off = this.onChange((next) => {
        if (!accept(next)) return;
        off();
        resolve(next);
      });
    });
  }

  /** This process now holds its worker queue. */
  queueHeld(): void {
    if (this.isShuttingDown() || this.current.kind === 'active') return;
    this.moveTo(
      { kind: 'active', since: Date.now() },
      drivesSessions(this.current) ? 'holds its worker queue again' : 'holds its worker queue: restoring its sessions',
    );
  }

  /** It no longer holds its queue. With the broker still up (only the channel went), nothing runs out: `brokerLost` covers the rest. */
  queueLost(brokerConnected: boolean): void {
    if (this.current.kind === 'active' && brokerConnected)
      this.moveTo({ kind: 'reclaiming', since: Date.now() }, 'lost its worker queue with the broker up; taking it again');
  }

  /** Its attempt to take the queue found it held by another process with the same WORKER_ID. */
  queueRefused(): void {
    if (this.isShuttingDown()) return;
    const state = this.current;
    if (state.kind === 'standby' && state.cause === 'queue-held') return;
    const why = drivesSessions(state)
      ? "another process now holds this worker's queue: closing every session (no logout) and standing by"
      : "another process holds this worker's queue: standing by";
    this.moveTo({ kind: 'standby', since: Date.now(), cause: 'queue-held' }, why);
  }

  brokerLost(): void {
    const now = Date.now();
    this.downSince ??= now;
    // A connection lost again before it was fully back (no `brokerBack` between) does not extend the lease.
    if (this.current.kind === 'active' || this.current.kind === 'reclaiming') {
      this.moveTo({ kind: 'cut-off', since: now, leaseEndsAt: now + this.opts.leaseMs }, 'broker unreachable: sessions keep running for OWNERSHIP_LEASE_MS');
    }
  }

  brokerBack(): void {
    this.downSince = null;
    if (this.current.kind === 'cut-off') this.moveTo({ kind: 'reclaiming', since: Date.now() }, 'broker back within the lease; taking its worker queue again');
  }

  /** A graceful stop began: from now on nothing the broker says changes the state. */
  stopping(): void {
    if (!this.isShuttingDown()) this.moveTo({ kind: 'stopping', since: Date.now() }, 'stopping');
  }

  stopped(): void {
    if (this.current.kind !== 'stopped') this.moveTo({ kind: 'stopped' }, 'stopped');
  }

  private isShuttingDown(): boolean {
    return this.current.kind === 'stopping' || this.current.kind === 'stopped';
  }

  private leaseExpired(): void {
    if (this.current.kind !== 'cut-off') return;
    this.moveTo(
      { kind: 'standby', since: Date.now(), cause: 'lease-expired' },
      'broker unreachable past OWNERSHIP_LEASE_MS: closing every session (no logout); they are restored when this process holds its queue again',
    );
  }

  private moveTo(next: WorkerState, why: string): void {
    const previous = this.current;
    this.current = next;
    if (previous.kind === 'cut-off') this.timer.cancel();
    if (next.kind === 'cut-off') this.timer.schedule(next.leaseEndsAt - Date.now(), () => this.leaseExpired());
    const standingDown = next.kind === 'standby' && drivesSessions(previous);
    this.opts.logger[standingDown ? 'warn' : 'info']({ from: previous.kind, to: next.kind, why }, 'worker state changed');
    for (const listener of [...this.listeners]) listener(next, previous);
  }
}
