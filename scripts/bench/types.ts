import type { Summary } from './stats.js';
import type { MachineInfo } from './machine.js';

export interface Target {
  /** What the target says, e.g. "overhead ≤ 25 ms". */
  text: string;
  /** null: not applicable at this N (only shown for reference). */
  met: boolean | null;
}

/** One compared figure: worker vs bare Baileys, both summarised over every sample of every round. */
export interface Figure {
  name: string;
  unit: string;
  /** Which statistic the bars, the ratio and the target use ('p50' unless said). */
  stat: 'p50' | 'mean';
  worker: Summary;
  baseline: Summary | null;
  /** worker / baseline, on `stat`. */
  ratio: number | null;
  /** worker − baseline, on `stat`. */
  overhead: number | null;
  /** Lower is better (latency, MB, writes) or higher (throughput). */
  better: 'lower' | 'higher';
  target?: Target;
  /** Per-round values of `stat` (worker, baseline), for the JSON. */
  rounds?: { worker: number[]; baseline: number[] };
}

export interface ScenarioResult {
  id: string;
  title: string;
  measures: string;
  status: 'ok' | 'skipped' | 'error';
  settings: Record<string, unknown>;
  figures: Figure[];
  notes: string[];
  error?: string;
  /** What the baseline column is, when not bare Baileys (chart legend). */
  baselineLabel?: string;
  durationMs: number;
  chart?: string;
}

export interface BenchResults {
  mode: 'quick' | 'full';
  startedAt: string;
  durationMs: number;
  machine: MachineInfo;
  command: string;
  scenarios: ScenarioResult[];
}
