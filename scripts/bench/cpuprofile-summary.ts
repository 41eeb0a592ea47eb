/**
 * Development: what a `.cpuprofile` (V8's JSON, e.g. from BENCH_CHILD_PROFILE_DIR) says about event-loop
 * blocks. `node --import tsx scripts/bench/cpuprofile-summary.ts file.cpuprofile [top]` prints the
 * functions with the most self time, the busy stretches (samples between two idle ones) over 50 ms,
 * and what ran in the longest one. A stretch can span several loop turns when no idle sample falls
 * between them: it bounds a block from above, the event-loop delay histogram tells the real one.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Summary {
  wallMs: number;
  idleMs: number;
  self: Array<[string, number]>;
  stretchesMs: number[];
  longest: { ms: number; self: Array<[string, number]>; total: Array<[string, number]> };
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const at = url.includes('/node_modules/') ? url.split('/node_modules/').pop()! : url.replace(/^file:\/\/.*?\/(src|scripts|test)\//, '$1/');
  return `${functionName || '(anonymous)'} ${at}:${lineNumber + 1}`;
}

function top(map: Map<string, number>, n: number): Array<[string, number]> {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

export function summarize(profile: Profile, n = 25): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  // timeDeltas[i] is the time before sample i: sample i lasted until sample i + 1
  const ms = profile.samples.map((_, i) => (profile.timeDeltas[i + 1] ?? 0) / 1000);
  const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const self = new Map<string, number>();
  let idleMs = 0;
  const stretches: Array<{ ms: number; from: number; to: number }> = [];
  let cur = { ms: 0, from: -1, to: -1 };
  profile.samples.forEach((id, i) => {
    add(self, label(byId.get(id)!), ms[i]!);
    if (isIdle(id)) {
      idleMs += ms[i]!;
      if (cur.from >= 0) stretches.push({ ...cur, to: i });
      cur = { ms: 0, from: -1, to: -1 };
    } else {
      if (cur.from < 0) cur.from = i;
      cur.ms += ms[i]!;
    }
  });
  if (cur.from >= 0) stretches.push({ ...cur, to: profile.samples.length });
  stretches.sort((a, b) => b.ms - a.ms);
  const longestSelf = new Map<string, number>();
  const longestTotal = new Map<string, number>();
  const longest = stretches[0];
  for (let i = longest?.from ?? 0; i < (longest?.to ?? 0); i++) {
    add(longestSelf, label(byId.get(profile.samples[i]!)!), ms[i]!);
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (!seen.has(l)) add(longestTotal, l, ms[i]!);
      seen.add(l);
    }
  }
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    idleMs,
    self: top(self, n),
    stretchesMs: stretches.filter((s) => s.ms > 50).map((s) => Math.round(s.ms)),
    longest: { ms: longest?.ms ?? 0, self: top(longestSelf, 15), total: top(longestTotal, 30) },
  };
}

if (process.argv[1]?.endsWith('cpuprofile-summary.ts')) {
  const s = summarize(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile, Number(process.argv[3] ?? 25));
  const rows = (r: Array<[string, number]>) => r.map(([k, v]) => `${v.toFixed(1).padStart(10)} ms  ${k}`).join('\n');
  console.log(`wall ${s.wallMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms\nself time:\n${rows(s.self)}`);
  console.log(`busy stretches over 50 ms (${s.stretchesMs.length}): ${s.stretchesMs.slice(0, 30).join(', ')}`);
  console.log(`longest (${s.longest.ms.toFixed(0)} ms), self:\n${rows(s.longest.self)}\ninclusive:\n${rows(s.longest.total)}`);
}
