import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteEmulator } from './emulator-remote.js';
import { summarize, round } from './stats.js';
import type { Figure, Target } from './types.js';

export interface BenchContext {
  quick: boolean;
  runId: string;
  /** The emulator, in its own process (emulator-child.ts). */
  emulator: RemoteEmulator;
  /** Removed at the end of the run. */
  tmpRoot: string;
  log: (msg: string) => void;
}

export function tempDir(ctx: BenchContext, label: string): string {
  return mkdtempSync(join(ctx.tmpRoot, `${label}-`));
}

/** Best effort: a stopped worker's last background write may still land while the tree is removed. */
export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    // left in the run's tmp root, removed at the end of the run (or by the OS)
  }
}

export function newTmpRoot(): string {
  return mkdtempSync(join(tmpdir(), 'wa-bench-'));
}

/** Builds a figure from raw samples of both sides (pooled over every round). */
export function figure(opts: {
  name: string;
  unit: string;
  worker: number[];
  baseline: number[] | null;
  better?: 'lower' | 'higher';
  stat?: 'p50' | 'mean';
  target?: (f: { ratio: number | null; overhead: number | null; worker: number; baseline: number | null }) => Target;
  rounds?: { worker: number[]; baseline: number[] };
}): Figure {
  const stat = opts.stat ?? 'p50';
  const w = summarize(opts.worker);
  const b = opts.baseline ? summarize(opts.baseline) : null;
  const wv = stat === 'mean' ? w.mean : w.p50;
  const bv = b ? (stat === 'mean' ? b.mean : b.p50) : null;
  const ratio = bv !== null && bv !== 0 ? wv / bv : null;
  const overhead = bv !== null ? wv - bv : null;
  const r = (s: typeof w) => ({ n: s.n, min: round(s.min), p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max), mean: round(s.mean) });
  return {
    name: opts.name,
    unit: opts.unit,
    stat,
    worker: r(w),
    baseline: b ? r(b) : null,
    ratio: ratio === null ? null : round(ratio, 3),
    overhead: overhead === null ? null : round(overhead),
    better: opts.better ?? 'lower',
    ...(opts.target ? { target: opts.target({ ratio, overhead, worker: wv, baseline: bv }) } : {}),
    ...(opts.rounds ? { rounds: { worker: opts.rounds.worker.map((v) => round(v)), baseline: opts.rounds.baseline.map((v) => round(v)) } } : {}),
  };
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}
