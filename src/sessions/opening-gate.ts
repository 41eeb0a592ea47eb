/**
 * The worker-wide cap on WhatsApp sockets in their opening phase (TLS, Noise handshake, login):
 * a counting gate, FIFO. After the process has been starved of CPU, every session's keep-alive is
 * missed at once and every reconnect timer is overdue at once: without a cap, thousands of sockets
 * would open in one event-loop turn and starve it again. With it, reconnects file past in lanes.
 *
 * Who waits: a timer-driven reconnect `acquire`s (it waits its turn, its session stays
 * `reconnecting`). A command or restore `take`s: it never waits (a backend's `create` must not queue
 * behind a storm, and restore paces itself with RESTORE_CONCURRENCY), but it counts as in flight, so
 * that reconnects wait for it: the total opening at once is the cap plus at most those.
 */

/** One socket's place in the opening phase; released once the socket settles (idempotent). */
export interface OpeningSlot {
  release(): void;
}

export interface OpeningGateOptions {
  /** Sockets opening at once (SOCKETS_OPENING_MAX). */
  max: number;
  /** A socket that never settles gives its slot back after this long (it cannot hold it for ever). */
  holdLimitMs?: number;
}

/** Baileys gives up a connection attempt after 20 s; a slot outlives that with room to spare. */
export const DEFAULT_HOLD_LIMIT_MS = 60_000;

export class OpeningGate {
  private inFlight = 0;
  private readonly waiting: Array<(slot: OpeningSlot) => void> = [];
  private readonly max: number;
  private readonly holdLimitMs: number;

  constructor(opts: OpeningGateOptions) {
    this.max = opts.max;
    this.holdLimitMs = opts.holdLimitMs ?? DEFAULT_HOLD_LIMIT_MS;
  }

  /** Sockets holding a slot now (commands' included, which may exceed the cap). */
  get opening(): number {
    return this.inFlight;
  }

  /** Reconnects waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a slot once one is free, in the order asked. */
  acquire(): Promise<OpeningSlot> {
    if (this.inFlight < this.max && this.waiting.length === 0) return Promise.resolve(this.grant());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A slot now, free or not: counted, never waited for (commands, restore, a 515 restart). */
  take(): OpeningSlot {
    return this.grant();
  }

  private grant(): OpeningSlot {
    this.inFlight++;
    let released = false;
    const timer = setTimeout(() => slot.release(), this.holdLimitMs);
    // A pending safety timer must not keep the process alive at shutdown.
    timer.unref();
    const slot: OpeningSlot = {
      release: () => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        this.inFlight--;
        this.admit();
      },
    };
    return slot;
  }

  /** Hands freed slots to the waiters, first come first served. */
  private admit(): void {
    while (this.inFlight < this.max && this.waiting.length > 0) this.waiting.shift()!(this.grant());
  }
}

/** No cap: what a session runs with when it is given no gate (tools, tests of a single session). */
export const UNBOUNDED_OPENING_GATE = new OpeningGate({ max: Number.POSITIVE_INFINITY });
