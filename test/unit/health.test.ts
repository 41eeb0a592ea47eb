import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthFileWriter, judgeHealth, readHealthFile, type HealthReport } from '../../src/fleet/health-file.js';

const limits = { maxStaleMs: 30_000, maxBrokerDownMs: 60_000 };
const report = (over: Partial<HealthReport> = {}): HealthReport => ({
  pid: 1,
  workerId: 'w',
  writtenAt: 1_000_000,
  brokerConnected: true,
  brokerDownSince: null,
  active: true,
  sessions: 3,
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
    expect(judgeHealth({ ...down, writtenAt: 1_060_000 }, 1_060_000, limits)).toMatchObject({ ok: false, reason: expect.stringMatching(/broker unreachable for 70 s/) });
  });
});

describe('HealthFileWriter', () => {
  it('writes a report the healthcheck can read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'health-'));
    try {
      const file = join(dir, 'h.json');
      const writer = new HealthFileWriter(file, () => ({ workerId: 'w9', brokerConnected: false, brokerDownSince: 5, active: false, sessions: 0 }));
      await writer.write();
      const read = await readHealthFile(file);
      expect(read).toMatchObject({ workerId: 'w9', pid: process.pid, brokerDownSince: 5, active: false });
      expect(Date.now() - read!.writtenAt).toBeLessThan(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
