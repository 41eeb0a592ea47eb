import { WorkerError } from '../util/errors.js';
import { PacingBucket, type PacingRate } from './pacing-bucket.js';

/** A send as the pacer sees it. */
export interface PacedSend {
  numberId: number;
  requestId: string;
  /** The recipient (typing simulation). */
  toJid: string;
  /** How long to show `composing` before it (0: no typing simulation). */
  typingMs: number;
}

/** A number's pacing in force (undefined from `pacingFor`: the number's sends are not paced). */
export interface NumberPacing {
  rate: PacingRate;
  /** Shows `composing` for `ms`, then `paused` (never rejects: a failure only loses the show). */
  typing?: ((toJid: string, ms: number) => Promise<void>) | undefined;
}

export interface SendPacerDeps {
  now: () => number;
  /** Resolves after `ms`, or earlier when `wake` is called (a send with an earlier time arrived). */
  sleep: (ms: number, wake: AbortSignal) => Promise<void>;
  random?: () => number;
  /** A send whose wait would be longer is not held: it goes to the delay queue (PACING_MAX_HOLD_MS). */
  maxHoldMs: number;
  /** Most sends held at once, all numbers together; beyond, they go to the delay queue (keeps room in the prefetch for other commands). */
  maxHeld: number;
  /** The number's pacing in force; may wait (for a restore in progress to reopen the number, say). */
  pacingFor: (numberId: number) => NumberPacing | undefined | Promise<NumberPacing | undefined>;
}

/** How far behind a number is (heartbeats). */
export interface PacingBacklog {
  numberId: number;
  /** Sends held in memory, waiting for their time. */
  queued: number;
  /** Sends this process put in the delay queue that have not come back yet. */
  delayed: number;
  /** Age of the oldest held send, ms. */
  oldestAgeMs: number;
}

interface Waiting {
  at: number;
  pacing: NumberPacing;
  since: number;
  send: PacedSend;
  run: () => Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A number's pacing state: its bucket, its held sends (ordered by reserved time), its sends in the delay queue. */
class NumberLine {
  readonly bucket = new PacingBucket();
  readonly waiting: Waiting[] = [];
  /** requestId → reserved time, for sends put in the delay queue (insertion order: oldest first). */
  readonly delayed = new Map<string, number>();
  pumping = false;
  /** The pacing of the last send held (whether the bucket is idle is judged with it). */
  rate: PacingRate | undefined;
  lastRunAt = Number.NEGATIVE_INFINITY;
  wake = new AbortController();
}

/** Sends remembered in the delay queue per number, at most: beyond it the oldest reservation is forgotten (it gets a new time when it comes back). */
const MAX_DELAYED_PER_NUMBER = 10_000;

/**
 * Send pacing (README "Send pacing"). Per number, a send reserves a time in the number's bucket
 * (pacing-bucket.ts) and waits for it OUTSIDE the number's command lane, in a line of its own
 * ordered by reserved time; at its time, the typing simulation runs, then `run` (the send
 * itself, through the lane: a `logout`, `mark_read` or `status` for the number never waits
 * behind paced sends, only behind the one send in progress). The returned promise resolves once
 * `run` has (the command is acked only then: nothing is acked before it is sent or failed, so
 * the unacked deliveries ARE the queue, bounded by the broker's prefetch, and a restart loses
 * nothing: the broker redelivers, and send idempotence by requestId prevents doubles).
 *
 * A send whose time is more than `maxHoldMs` away (or, not yet due, finds `maxHeld` sends held already)
 * is not held unacked (RabbitMQ's consumer_timeout would close the channel): `postpone` puts it
 * in the worker's delay queue for about the wait, and it comes back as a new delivery. Its time
 * stays reserved (by requestId), so the number's later sends, which reserve later times, are
 * delayed behind it, and its return takes its place before them: order kept within this process.
 */
export class SendPacer {
  private readonly lines = new Map<number, NumberLine>();
  private held = 0;
  private stopped = false;

  constructor(private readonly deps: SendPacerDeps) {}

  /**
   * Runs `run` at the send's time. `postpone(ttlMs)` moves the delivery to the delay queue
   * (resolves once the broker confirmed it; then the original may be acked).
   */
  async pace(send: PacedSend, run: () => Promise<void>, postpone: (ttlMs: number) => Promise<void>): Promise<void> {
    const pacing = await this.deps.pacingFor(send.numberId);
    if (!pacing || pacing.rate.perMinute <= 0) return run();
    if (this.stopped) throw stopping();
    const line = this.lineOf(send.numberId);
    const now = this.deps.now();
    const reserved = line.delayed.get(send.requestId);
    line.delayed.delete(send.requestId);
    const at = reserved ?? line.bucket.reserve(now, pacing.rate, this.deps.random);
    const wait = at - now;
    // A send due now runs even with the hold full (it is held for no time, and postponing it would never end).
    if (wait > this.deps.maxHoldMs || (this.held >= this.deps.maxHeld && wait > 0)) {
      // Back half a hold before its time, so that it waits its last stretch here, in its place.
      // Never sooner than a second (half a hold if shorter): no ping-pong with the broker while the hold is full. For one
      // number, each send's expiry is then no earlier than the previous one's, so per-message
      // TTLs (which expire only at the queue's head) bring them back in order.
      const half = this.deps.maxHoldMs / 2;
      const ttl = Math.max(Math.min(1000, half), Math.round(wait - half));
      line.delayed.set(send.requestId, at);
      if (line.delayed.size > MAX_DELAYED_PER_NUMBER) line.delayed.delete(line.delayed.keys().next().value!);
      try {
        await postpone(ttl);
      } catch (err) {
        line.delayed.delete(send.requestId);
        throw err;
      }
      return;
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Waiting = { at, pacing, since: now, send, run, resolve, reject };
      line.rate = pacing.rate;
      // Ordered by reserved time (a send back from the delay queue takes its place), equal times in arrival order.
      let i = line.waiting.length;
      while (i > 0 && line.waiting[i - 1]!.at > at) i--;
      line.waiting.splice(i, 0, entry);
      this.held++;
      if (i === 0) line.wake.abort();
      void this.pump(send.numberId, line);
    });
  }

  /** Per number: sends held and in the delay queue, the most behind first (oldest held send), at most `limit`. */
  backlog(limit = 20): PacingBacklog[] {
    const now = this.deps.now();
    const all: PacingBacklog[] = [];
    for (const [numberId, line] of this.lines) {
      if (!line.waiting.length && !line.delayed.size) {
        if (!line.pumping && line.bucket.idleAt(now, { minGapMs: 0 })) this.lines.delete(numberId);
        continue;
      }
      const oldest = line.waiting.reduce((min, w) => Math.min(min, w.since), now);
      all.push({ numberId, queued: line.waiting.length, delayed: line.delayed.size, oldestAgeMs: Math.max(0, now - oldest) });
    }
    return all.sort((a, b) => b.oldestAgeMs - a.oldestAgeMs || b.queued + b.delayed - (a.queued + a.delayed)).slice(0, limit);
  }

  /** Sends held now, all numbers together. */
  get heldCount(): number {
    return this.held;
  }

  /**
   * The worker is stopping: held sends are given back (their commands are retried, i.e. requeued
   * unacked, and sent by whoever consumes them next); new ones are refused the same way.
   */
  stop(): void {
    this.stopped = true;
    this.releaseHeld();
  }

  /**
   * Gives the held sends back (retried: their deliveries are requeued, or already were by a lost
   * channel) without refusing new ones: the worker stood down, another process drives its numbers now.
   */
  releaseHeld(): void {
    for (const line of this.lines.values()) {
      for (const w of line.waiting.splice(0)) {
        this.held--;
        w.reject(stopping());
      }
      line.wake.abort();
    }
  }

  private lineOf(numberId: number): NumberLine {
    let line = this.lines.get(numberId);
    if (!line) this.lines.set(numberId, (line = new NumberLine()));
    return line;
  }

  /** Sends the number's held sends one at a time, each at its time. */
  private async pump(numberId: number, line: NumberLine): Promise<void> {
    if (line.pumping) return;
    line.pumping = true;
    try {
      while (line.waiting.length) {
        const head = line.waiting[0]!;
        // A send back late from the delay queue has a time already past: still never closer than minGapMs to the previous.
        const minGap = head.pacing.rate.minGapMs;
        const wait = Math.max(head.at, line.lastRunAt + minGap) - this.deps.now();
        if (wait > 0) {
          if (line.wake.signal.aborted) line.wake = new AbortController();
          await this.deps.sleep(wait, line.wake.signal);
          continue; // a send with an earlier time may have arrived meanwhile
        }
        line.waiting.shift();
        line.lastRunAt = this.deps.now();
        try {
          const typing = head.pacing.typing;
          if (typing && head.send.typingMs > 0) await typing(head.send.toJid, head.send.typingMs);
          await head.run();
          head.resolve();
        } catch (err) {
          head.reject(err);
        } finally {
          this.held--;
        }
      }
    } finally {
      line.pumping = false;
      if (!line.waiting.length && !line.delayed.size && (!line.rate || line.bucket.idleAt(this.deps.now(), line.rate))) this.lines.delete(numberId);
    }
  }
}

function stopping(): WorkerError {
  // Not a rejection code: the command is retried (requeued), not answered.
  return new WorkerError('SESSION_BUSY', 'the worker is stopping: this paced send goes back to its queue');
}

/** `SendPacerDeps.sleep` on real timers. */
export function wakeableSleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      wake.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    wake.addEventListener('abort', done, { once: true });
    if (wake.aborted) done();
  });
}
