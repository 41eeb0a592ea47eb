import type { Seed } from '../baseline.js';
import type { BenchContext } from '../context.js';
import { registerSeeds } from '../seed.js';

/** Linked accounts shared by the memory, restore and send scenarios of one run (linked once, extended on demand). */
const pool: Seed[] = [];

export async function seedsFor(ctx: BenchContext, count: number): Promise<Seed[]> {
  if (pool.length < count) {
    const missing = count - pool.length;
    const t0 = Date.now();
    ctx.log(`  making ${missing} linked account(s) once (direct registration + first login; reused for memory, restore and send)…`);
    pool.push(...(await registerSeeds(ctx.emulator, missing, { concurrency: 32, onProgress: (d) => d % 100 === 0 && ctx.log(`    ${d}/${missing}`) })));
    ctx.log(`  linked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return pool.slice(0, count);
}
