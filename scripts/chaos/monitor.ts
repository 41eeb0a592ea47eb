import type { EmulatorServer } from '../../test/emulator/index.js';
import type { ChaosNumber } from './load.js';

/**
 * The suite's own look at "one socket per number": samples the emulator's logged-in sockets per
 * account every 20 ms and keeps the maximum. The emulator's own counter
 * (`maxConcurrentConnections`, exact) is preferred when it has one; this sample can miss an
 * overlap shorter than its period, never invent one.
 */
export class SocketMonitor {
  readonly max = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emu: EmulatorServer,
    private readonly numbers: ChaosNumber[],
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 20);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    for (const n of this.numbers) {
      const open = this.emu.connectionsOf(n.digits).filter((c) => c.device !== undefined).length;
      if (open > (this.max.get(n.digits) ?? 0)) this.max.set(n.digits, open);
    }
  }
}
