import type { PacingSettings } from '../util/session-settings.js';

export type PacingRate = Pick<PacingSettings, 'perMinute' | 'burst' | 'minGapMs' | 'jitterMs'>;

/**
 * One number's token bucket, in its "virtual scheduling" form (GCRA): instead of counting
 * tokens, it keeps the theoretical time at which the bucket would be full again (`fullAt`), and
 * hands out send times (`reserve`) one after the other. A send may leave once the bucket holds a
 * token: at most `burst` back to back after a quiet spell, then one every 60 000 / perMinute ms;
 * never closer than `minGapMs` to the previous one; plus a random `jitterMs` at most. A time
 * reserved is kept for the send even if it leaves the process for a while (the delay queue), so
 * the sends reserved after it get later times: that is what keeps a number's sends in order.
 * The rate may change between two reservations (settings updated): the next one follows it.
 * Pure: the caller gives the clock and the randomness (tests give fixed ones).
 */
export class PacingBucket {
  /** When the bucket is full again (epoch ms): each reservation pushes it one interval on. */
  private fullAt = 0;
  /** The latest time reserved. */
  private last = Number.NEGATIVE_INFINITY;

  /** The time at which the next send may leave (≥ now), taken: the following call gets a later one. */
  reserve(now: number, rate: PacingRate, random: () => number = Math.random): number {
    const interval = 60_000 / rate.perMinute;
    const tolerance = (rate.burst - 1) * interval;
    const earliest = Math.max(now, this.fullAt - tolerance, this.last + rate.minGapMs);
    const jitter = rate.jitterMs > 0 ? Math.floor(random() * (rate.jitterMs + 1)) : 0;
    const at = earliest + jitter;
    this.fullAt = Math.max(this.fullAt, at) + interval;
    this.last = at;
    return at;
  }

  /** True when the bucket is full again at `now`: forgetting it then changes nothing. */
  idleAt(now: number, rate: Pick<PacingRate, 'minGapMs'>): boolean {
    return this.fullAt <= now && this.last + rate.minGapMs <= now;
  }
}
