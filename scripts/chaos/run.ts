/**
 * `npm run chaos` — the worker under faults. Per run: a fresh 3-node RabbitMQ cluster (quorum
 * queues), an s3rver holding the worker's credentials and media, the WhatsApp emulator in this
 * process, the real worker (`src/main.ts`) as a child process, and an observer on the cluster.
 * N numbers are linked, then for the duration contacts write to them and the backend sends
 * through them while faults strike at random (seeded): SIGKILL of the worker, its broker
 * connection cut, its broker node killed and restarted, S3 stopped and restarted, WhatsApp
 * dropping / restarting (515) / replacing (440) a number's socket. Then everything is restored
 * and the invariants are checked; the exit code is 1 if any failed.
 *
 *   npm run chaos -- [--quick] [--runs=K] [--duration=S] [--numbers=N] [--contacts=C] [--seed=X] [--keep]
 *
 * --quick: CI size (3 numbers, ~60 s of faults, one run). Default: 3 runs of ~3 min, 5 numbers.
 * --duration: seconds of faults (stretched until every kind has struck once); linking, the
 *   cluster's start and the final checks come on top (~35 s).
 * --seed: the first run's seed (run k uses seed + k - 1); printed at the start of each run.
 * --keep: keep every run's directory (worker log, storage); a failed run's is always kept.
 */
import { randomSeed } from './prng.js';
import { runOnce, type RunOptions, type RunResult } from './scenario.js';
import { report } from './report.js';
import { Teardown } from './teardown.js';
import { silenceLibraryConsole } from '../library-console.js';

const USAGE = 'usage: npm run chaos -- [--quick] [--runs=K] [--duration=S] [--numbers=N] [--contacts=C] [--seed=X] [--keep]';

function parseArgs(argv: string[]): { runs: number; base: Omit<RunOptions, 'index' | 'seed' | 'interrupted'>; seed: number } {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m || !['quick', 'runs', 'duration', 'numbers', 'seed', 'keep', 'contacts'].includes(m[1]!)) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  const num = (name: string, fallback: number, min = 1): number => {
    const raw = flags.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} wants an integer ≥ ${min}, got ${raw}\n${USAGE}`);
    return n;
  };
  const quick = flags.has('quick');
  return {
    runs: num('runs', quick ? 1 : 3),
    seed: num('seed', randomSeed(), 0),
    base: {
      quick,
      durationS: num('duration', quick ? 60 : 180, 10),
      numbers: num('numbers', quick ? 3 : 5),
      contacts: num('contacts', quick ? 3 : 4),
      keep: flags.has('keep'),
      basePort: 5701,
    },
  };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  silenceLibraryConsole();
  const teardown = new Teardown();
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stdout.write('\nSIGINT: tearing everything down…\n');
    void teardown.run().finally(() => process.exit(130));
  });
  // A stray rejection in the emulator or a client must not end the run unreported.
  process.on('unhandledRejection', (err) => process.stdout.write(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`));

  const results: RunResult[] = [];
  for (let k = 1; k <= args.runs && !interrupted; k++) {
    const opts: RunOptions = { ...args.base, index: k, seed: args.seed + k - 1, interrupted: () => interrupted };
    try {
      results.push(await runOnce(opts, teardown));
    } catch (err) {
      process.stdout.write(`run ${k} (seed ${opts.seed}) aborted: ${(err as Error).stack ?? String(err)}\n`);
      await teardown.run();
      report(results);
      return 1;
    }
  }
  report(results);
  const failed = results.filter((r) => !r.pass).length;
  console.log(`\n${results.length} run(s), ${failed} failed; seeds ${results.map((_, i) => args.seed + i).join(', ')}`);
  return failed ? 1 : 0;
}

// Explicitly: a library timer left behind must not keep a finished suite alive.
process.exit(await main());
