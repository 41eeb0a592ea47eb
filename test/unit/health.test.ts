import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthFileWriter, judgeHealth, readHealthFile, type HealthReport } from '../../src/fleet/health-file.js';

const limits = { maxStaleMs: 30_000, maxBrokerDownMs: 60_000, maxOutboxAgeMs: 45_000 };
const report = (over: Partial<HealthReport> = {}): HealthReport => ({
  pid: 1,
  workerId: 'w',
  writtenAt: 1_000_000,
  brokerConnected: true,
  brokerDownSince: null,
  active: true,
  sessions: 3,
  outboxSize: 0,
  outboxOldestAgeMs: 0,
  unpublishable: 0,
  ...over,
});

describe('judgeHealth', () => {
  it('is healthy when fresh and connected (standby replicas too)', () => {
    expect(judgeHealth(report(), 1_010_000, limits)).toEqual({ ok: true, summary: 'active, broker connected, 3 sessions' });
    expect(judgeHealth(report({ active: false }), 1_010_000, limits).ok).toBe(true);
  });

  it('fails when the worker never wrote the file', () => {
    expect(judgeHealth(undefined, 0, limits)).toMatchObject({ ok: false, reason: expect.stringMatching(/not running/) });
  });

  it('fails when the file is stale (event loop stuck)', () => {
    expect(judgeHealth(report(), 1_000_000 + 31_000, limits)).toMatchObject({ ok: false, reason: expect.stringMatching(/stuck/) });
  });

  it('tolerates a short broker outage but not a long one', () => {
    const down = report({ brokerConnected: false, brokerDownSince: 990_000 });
    expect(judgeHealth(down, 1_000_000, limits).ok).toBe(true);
    expect(judgeHealth({ ...down, writtenAt: 1_060_000 }, 1_060_000, limits)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/broker unreachable for 70 s/),
    });
  });

  it('fails when, with the broker connected, the oldest outbox message is older than maxOutboxAgeMs (publishing is stuck)', () => {
    expect(judgeHealth(report({ outboxSize: 12, outboxOldestAgeMs: 45_000 }), 1_010_000, limits).ok).toBe(true);
    expect(judgeHealth(report({ outboxSize: 12, outboxOldestAgeMs: 46_000 }), 1_010_000, limits)).toEqual({
      ok: false,
      reason: expect.stringMatching(/oldest outbox message is 46 s old.*12 waiting/),
    });
  });

  it('does not blame the outbox while the broker is down (the outage has its own limit)', () => {
    const down = report({ brokerConnected: false, brokerDownSince: 990_000, outboxSize: 500, outboxOldestAgeMs: 20_000_000 });
    expect(judgeHealth(down, 1_000_000, limits).ok).toBe(true);
  });

  it('reads a report written before the outbox fields existed as healthy', () => {
    const { outboxSize: _size, outboxOldestAgeMs: _age, unpublishable: _n, ...old } = report();
    expect(judgeHealth(old as HealthReport, 1_010_000, limits).ok).toBe(true);
  });
});

describe('HealthFileWriter', () => {
  it('writes a report the healthcheck can read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'health-'));
    try {
      const file = join(dir, 'h.json');
      const writer = new HealthFileWriter(file, () => ({
        workerId: 'w9',
        brokerConnected: false,
        brokerDownSince: 5,
        active: false,
        sessions: 0,
        outboxSize: 3,
        outboxOldestAgeMs: 1200,
        unpublishable: 2,
      }));
      await writer.write();
      const read = await readHealthFile(file);
      expect(read).toMatchObject({
        workerId: 'w9',
        pid: process.pid,
        brokerDownSince: 5,
        active: false,
        outboxSize: 3,
        outboxOldestAgeMs: 1200,
        unpublishable: 2,
      });
      expect(Date.now() - read!.writtenAt).toBeLessThan(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes through a fresh private temp file: a symlink planted at the old predictable temp path is not followed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'health-'));
    try {
      const file = join(dir, 'h.json');
      const victim = join(dir, 'victim');
      writeFileSync(victim, 'untouched');
      symlinkSync(victim, `${file}.${process.pid}.tmp`);
      const writer = new HealthFileWriter(file, () => ({
        workerId: 'w1',
        brokerConnected: true,
        brokerDownSince: null,
        active: true,
        sessions: 0,
        outboxSize: 0,
        outboxOldestAgeMs: 0,
        unpublishable: 0,
      }));
      await writer.write();
      await writer.write();
      expect(readFileSync(victim, 'utf8')).toBe('untouched');
      expect(await readHealthFile(file)).toMatchObject({ workerId: 'w1' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // Nothing left behind but the file, the victim and the planted link.
      expect(readdirSync(dir).sort()).toEqual(['h.json', `h.json.${process.pid}.tmp`, 'victim']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
