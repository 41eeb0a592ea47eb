export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Randomised exponential backoff (an exponential ceiling, half of it jittered): spreads the
 * reconnects of many sessions or workers so that they do not stampede together.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt));
  // Never below half the ceiling: a little jitter, but still backing off.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** One timer at a time: scheduling again replaces the pending one. */
export class SingleTimer {
  private handle: NodeJS.Timeout | undefined;

  schedule(delayMs: number, fn: () => void): void {
    this.cancel();
    this.handle = setTimeout(() => {
      this.handle = undefined;
      fn();
    }, delayMs);
  }

  cancel(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  get pending(): boolean {
    return this.handle !== undefined;
  }
}
