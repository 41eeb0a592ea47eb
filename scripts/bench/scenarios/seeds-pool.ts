import type { Seed } from '../baseline.js';
import type { BenchContext } from '../context.js';
import { registerLiteSeeds, registerSeeds } from '../seed.js';

/** Linked accounts shared by the memory, restore and send scenarios of one run (linked once, extended on demand). */
const pool: Seed[] = [];

/**
 * Accounts made with a real first login; beyond them, lite ones (seed.ts, LITE_SEED_METHOD).
 * BENCH_FULL_SEEDS lowers it for development runs (a scale run in a couple of minutes).
 */
export const FULL_SEEDS = Number(process.env.BENCH_FULL_SEEDS ?? 1000);

export async function seedsFor(ctx: BenchContext, count: number): Promise<Seed[]> {
  if (pool.length < Math.min(count, FULL_SEEDS)) {
    const missing = Math.min(count, FULL_SEEDS) - pool.length;
    const t0 = Date.now();
    ctx.log(`  making ${missing} linked account(s) once (direct registration + first login; reused for memory, restore and send)…`);
    pool.push(...(await registerSeeds(ctx.emulator, missing, { concurrency: 32, onProgress: (d) => d % 100 === 0 && ctx.log(`    ${d}/${missing}`) })));
    ctx.log(`  linked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (pool.length < count) {
    const missing = count - pool.length;
    const t0 = Date.now();
    pool.push(...(await registerLiteSeeds(ctx.emulator, missing, { onProgress: (d) => ctx.log(`    ${d}/${missing}`) })));
    ctx.log(`  registered ${missing} more account(s) without a first login (scale runs) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return pool.slice(0, count);
}
