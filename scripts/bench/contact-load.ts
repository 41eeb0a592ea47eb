/**
 * Live traffic for the scale figures: emulated contacts send texts to a fixed set of accounts,
 * `perSecond` messages a second spread evenly over the second (each target account gets one a
 * second when perSecond = targets). Sends are scheduled on absolute times and not awaited one by
 * one, so a slow emulator answer does not lower the offered rate; what was offered, done and
 * failed is counted for the notes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { RemoteEmulator } from './emulator-remote.js';

/** Emulated contacts that do the sending (one after the other). */
const CONTACTS = Array.from({ length: 10 }, (_, i) => `+4915188800${String(i).padStart(3, '0')}`);

export interface LoadStats {
  offered: number;
  done: number;
  failed: number;
  firstError?: string;
}

export class ContactLoad {
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: LoadStats = { offered: 0, done: 0, failed: 0 };
  private readonly loop: Promise<void>;

  constructor(
    private readonly emulator: RemoteEmulator,
    private readonly targets: readonly string[],
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.targets.length;
    const t0 = performance.now();
    for (let i = 0; !this.stopped; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      const account = this.targets[i % this.targets.length]!;
      const contact = CONTACTS[i % CONTACTS.length]!;
      this.stats.offered++;
      const p = this.emulator.contactSends(contact, account, `scale bench ${i}`).then(
        () => void this.stats.done++,
        (err: unknown) => {
          this.stats.failed++;
          this.stats.firstError ??= err instanceof Error ? err.message : String(err);
        },
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** Stops offering and waits (bounded) for the sends in flight. */
  async stop(): Promise<LoadStats> {
    this.stopped = true;
    await this.loop;
    await Promise.race([Promise.all([...this.inFlight]), sleep(10_000)]);
    return this.stats;
  }
}
