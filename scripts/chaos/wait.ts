/** Waits with deadlines: every wait names what it waits for, and fails after its bound. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Re-checks `cond` every `intervalMs` until it holds; for state that announces no event (the
 * emulator's sockets, a file), not for anything an event can be awaited for.
 */
export async function pollUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out (${Math.round(timeoutMs / 1000)} s) waiting for ${what}`);
    await sleep(intervalMs);
  }
}
