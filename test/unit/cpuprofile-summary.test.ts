import { summarize } from '../../scripts/bench/cpuprofile-summary.js';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });

/** root → (idle) | timer → work; samples every `deltaUs` µs. */
function profile(samples: number[], deltaUs = 10_000) {
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('listOnTimeout', 'node:internal/timers'), children: [4] },
      { id: 4, callFrame: frame('sweep', 'file:///x/src/fleet/sweep.js') },
    ],
    startTime: 0,
    endTime: samples.length * deltaUs,
    samples,
    timeDeltas: samples.map(() => deltaUs),
  };
}

describe('cpuprofile summary (bench development tool)', () => {
  it('finds the longest busy stretch between idle samples and what ran in it', () => {
    // idle, 3 busy (30 ms), idle, 8 busy (80 ms), idle
    const s = summarize(profile([2, 4, 4, 3, 2, 4, 4, 4, 4, 4, 4, 4, 3, 2, 2]));
    expect(s.stretchesMs).toEqual([80]);
    expect(s.longest.ms).toBeCloseTo(80);
    expect(s.longest.self[0]).toEqual(['sweep src/fleet/sweep.js:1', 70]);
    expect(s.longest.total.find(([k]) => k.startsWith('listOnTimeout'))?.[1]).toBeCloseTo(80);
    expect(s.idleMs).toBeCloseTo(30); // the last sample has no duration
  });

  it('reports no stretch over 50 ms when the loop idles between short tasks', () => {
    const s = summarize(profile([2, 4, 4, 2, 4, 3, 2, 4, 2]));
    expect(s.stretchesMs).toEqual([]);
    expect(s.self.find(([k]) => k.startsWith('sweep'))?.[1]).toBeCloseTo(40);
  });
});
