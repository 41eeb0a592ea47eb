import type { RssSample } from './worker.js';

export interface MemoryVerdict {
  generation: number;
  samples: number;
  firstMedianBytes: number;
  lastMedianBytes: number;
  boundBytes: number;
  pass: boolean | 'n/a';
  note: string;
}

const MB = 1024 * 1024;
/** Samples of a process's first WARM_UP_MS are start-up (modules, the first logins), not a trend. */
const WARM_UP_MS = 15_000;
const MIN_SAMPLES = 12;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * "Memory flat": the final worker process's RSS (from /proc, every second), after warm-up, split
 * in thirds: the median of the last third may be at most 1.5 × the first third's + 20 MB. The
 * slack covers V8 growing its heap to a steady size under load; a leak proportional to traffic
 * (per message, per reconnect) outgrows it within minutes.
 */
export function judgeMemory(samples: RssSample[], generation: number): MemoryVerdict {
  const mine = samples.filter((s) => s.generation === generation && s.age >= WARM_UP_MS).map((s) => s.rssBytes);
  const third = Math.floor(mine.length / 3);
  if (mine.length < MIN_SAMPLES) {
    return {
      generation,
      samples: mine.length,
      firstMedianBytes: 0,
      lastMedianBytes: 0,
      boundBytes: 0,
      pass: 'n/a',
      note: `only ${mine.length} samples after warm-up (need ${MIN_SAMPLES})`,
    };
  }
  const first = median(mine.slice(0, third));
  const last = median(mine.slice(-third));
  const bound = 1.5 * first + 20 * MB;
  return {
    generation,
    samples: mine.length,
    firstMedianBytes: first,
    lastMedianBytes: last,
    boundBytes: bound,
    pass: last <= bound,
    note: `process ${generation}: first third ${(first / MB).toFixed(1)} MB, last third ${(last / MB).toFixed(1)} MB, bound 1.5 × first + 20 MB = ${(bound / MB).toFixed(1)} MB`,
  };
}
