import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Health without HTTP. The worker rewrites a small file every few seconds from its event loop;
 * the `healthcheck` command (Docker HEALTHCHECK, Kubernetes exec probe) reads it. A stale file
 * means the event loop is stuck; the broker fields tell how long the broker has been unreachable,
 * the outbox fields whether what the worker publishes actually leaves it.
 */
export interface HealthReport {
  pid: number;
  workerId: string;
  writtenAt: number;
  brokerConnected: boolean;
  /** When the broker became unreachable (epoch ms), or null while connected. */
  brokerDownSince: number | null;
  /** True while this process holds its worker queue (false: a standby replica). */
  active: boolean;
  sessions: number;
  /** Messages waiting in the publisher's outbox or in flight (unconfirmed). */
  outboxSize: number;
  /** Age of the oldest of them (ms); 0 when the outbox is empty. */
  outboxOldestAgeMs: number;
  /** Messages dropped because they could not be published (UNPUBLISHABLE) since the start. */
  unpublishable: number;
  /** Of the outbox, the messages journaled on local disk (they survive a crash), and the journal's size. */
  outboxJournaled?: number;
  outboxJournalBytes?: number;
}

export interface HealthLimits {
  maxStaleMs: number;
  maxBrokerDownMs: number;
  /** With the broker connected, an outbox entry older than this means publishing is stuck. */
  maxOutboxAgeMs: number;
}

export type HealthVerdict = { ok: true; summary: string } | { ok: false; reason: string };

/** Pure: is a worker that wrote `report` healthy at `now`? */
export function judgeHealth(report: HealthReport | undefined, now: number, limits: HealthLimits): HealthVerdict {
  if (!report) return { ok: false, reason: 'no health file: the worker is not running (or has not started yet)' };
  const age = now - report.writtenAt;
  if (age > limits.maxStaleMs) return { ok: false, reason: `health file is ${Math.round(age / 1000)} s old: the event loop is stuck or the worker is gone` };
  if (!report.brokerConnected && report.brokerDownSince !== null && now - report.brokerDownSince > limits.maxBrokerDownMs) {
    return { ok: false, reason: `broker unreachable for ${Math.round((now - report.brokerDownSince) / 1000)} s` };
  }
  // Reports written before these fields existed have none: nothing to judge then.
  const outboxAge = report.outboxOldestAgeMs ?? 0;
  if (report.brokerConnected && outboxAge > limits.maxOutboxAgeMs) {
    return {
      ok: false,
      reason: `oldest outbox message is ${Math.round(outboxAge / 1000)} s old with the broker connected (${report.outboxSize} waiting): publishing is stuck`,
    };
  }
  return {
    ok: true,
    summary: `${report.active ? 'active' : 'standby'}, broker ${report.brokerConnected ? 'connected' : 'reconnecting'}, ${report.sessions} sessions`,
  };
}

export async function readHealthFile(file: string): Promise<HealthReport | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as HealthReport;
  } catch {
    return undefined;
  }
}

export class HealthFileWriter {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly read: () => Omit<HealthReport, 'pid' | 'writtenAt'>,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    void this.write();
    this.timer = setInterval(() => void this.write(), this.intervalMs);
    this.timer.unref();
  }

  private writing: Promise<void> | undefined;
  private again = false;

  /** Writes the current report; writes never overlap, and the last state always lands last. */
  write(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.again = false;
        await this.writeNow();
      } while (this.again);
    })().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async writeNow(): Promise<void> {
    const report: HealthReport = { pid: process.pid, writtenAt: Date.now(), ...this.read() };
    // A fresh, unpredictable name created exclusively (O_EXCL: a symlink planted there is not
    // followed), readable by this user only, then renamed over the file.
    const tmp = join(dirname(this.file), `.${basename(this.file)}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify(report), { flag: 'wx', mode: 0o600 });
      await rename(tmp, this.file);
    } catch {
      // A health file that cannot be written makes the check fail, which is the right signal.
      await unlink(tmp).catch(() => undefined);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
