import type { EventEmitter } from 'node:events';

/**
 * The one way tests wait. Every wait is bounded and named, so a test that fails says what it
 * was waiting for instead of dying at Jest's timeout, and no timer outlives the wait.
 */

/** `promise`, or an error naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out (${ms} ms) waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Polling interval; default 10 ms. */
  intervalMs?: number;
  /** Appended to the error: what the test saw instead. */
  detail?: () => string;
}

/** Polls `cond` until it holds, up to a deadline; the error names `what` (and `detail()`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, opts: WaitOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      const detail = opts.detail ? `; ${opts.detail()}` : '';
      throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}

/** The next `event` of `emitter` (its first argument), or an error naming `what` after `ms`. */
export function nextEvent<T = unknown>(emitter: EventEmitter, event: string, ms: number, what = `"${event}"`): Promise<T> {
  let listener: ((value: T) => void) | undefined;
  const seen = new Promise<T>((resolve) => {
    listener = resolve;
    emitter.once(event, listener);
  });
  return within(seen, ms, what).finally(() => emitter.off(event, listener!));
}
