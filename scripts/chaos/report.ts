import { join } from 'node:path';
import type { EmulatorServer } from '../../test/emulator/index.js';
import type { Backend } from './backend.js';
import type { EmulatorLog } from './emulator-log.js';
import type { FaultInjector } from './faults.js';
import { accountsOf, type Verdict } from './invariants.js';
import type { ChaosNumber, Load } from './load.js';
import type { RabbitCluster } from './rabbit-cluster.js';
import type { ChaosWorker } from './worker.js';
import type { RunResult } from './scenario.js';

export interface FactSources {
  started: number;
  faultPhaseMs: number;
  seed: number;
  cluster: RabbitCluster;
  numbers: ChaosNumber[];
  load: Load;
  faults: FaultInjector;
  worker: ChaosWorker;
  backend: Backend;
  emu: EmulatorServer;
  emuLog: EmulatorLog;
  runDir: string;
}

/** What a run did, printed above its invariants: sizes, faults injected, failovers, emulator counters. */
export function runFacts(src: FactSources): Array<[string, string]> {
  const { started, faultPhaseMs, cluster, numbers, load, faults, worker, backend, emu, emuLog, runDir } = src;
  const accounts = accountsOf(emu);
  const sum = (f: (a: (typeof accounts)[number]) => number | undefined) => {
    const xs = accounts.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? String(xs.reduce((a, b) => a + b, 0)) : 'n/a';
  };
  // Counters a newer emulator keeps per contact (absent before): summed, or n/a.
  const contactSum = (field: string) => {
    const xs = emu
      .state()
      .contacts.map((c) => (c as Record<string, unknown>)[field])
      .filter((x): x is number => typeof x === 'number');
    return xs.length ? String(xs.reduce((a, b) => a + b, 0)) : 'n/a';
  };
  return [
    ['duration', `${((Date.now() - started) / 1000).toFixed(0)} s (faults ${(faultPhaseMs / 1000).toFixed(0)} s)`],
    ['seed', String(src.seed)],
    ['cluster', `${cluster.nodes.map((n) => n.name).join(', ')} (formed in ${(cluster.timings.totalMs / 1000).toFixed(0)} s)`],
    ['numbers', String(numbers.length)],
    [
      'messages in / out',
      `${load.incoming.length} / ${load.commands.filter((c) => c.action === 'send_message').length}${load.incomingErrors.length ? ` (${load.incomingErrors.length} emulator send errors)` : ''}`,
    ],
    ['commands', String(load.commands.length)],
    ['worker kills', String(faults.count('worker-kill'))],
    ['connection cuts', String(faults.count('broker-cut'))],
    ['node stops', String(faults.count('node-stop'))],
    ['S3 stops', String(faults.count('s3-stop'))],
    ['WhatsApp faults', `${faults.count('wa')} (drop ${faults.count('wa-drop')}, 515 ${faults.count('wa-restart515')}, 440 ${faults.count('wa-conflict440')})`],
    ['failovers', `${worker.failovers} (broker connections ${worker.connections.length}, backend reconnects ${backend.reconnects})`],
    ['slowest publisher confirm', `${(backend.slowestConfirmMs / 1000).toFixed(1)} s (a command of the backend, retries included)`],
    ['faults not recovered', String(faults.records.filter((r) => r.error).length)],
    ['emulator unacked / redelivered', `${sum((a) => a.unacked)} / ${sum((a) => a.redelivered)}`],
    ['events seen', `${backend.events.length} (republished ${[...backend.republished.values()].reduce((a, b) => a + b, 0)})`],
    ['undecryptable at a contact', `${emuLog.undecryptable.size} (contact retry receipts ${contactSum('retryReceiptsSent')})`],
    ['worker log', join(runDir, 'worker.log')],
  ];
}

export function formatTable(verdicts: Verdict[]): string {
  const label = (p: Verdict['pass']) => (p === 'n/a' ? 'N/A ' : p ? 'PASS' : 'FAIL');
  const width = Math.max(...verdicts.map((v) => v.name.length));
  const lines = [` #  ${'invariant'.padEnd(width)}  result  counts`, ` -  ${'-'.repeat(width)}  ------  ------`];
  for (const v of verdicts) {
    lines.push(` ${v.id}  ${v.name.padEnd(width)}  ${label(v.pass)}    ${v.counts}`);
    for (const d of v.detail) lines.push(`    ${' '.repeat(width)}          ↳ ${d}`);
  }
  return lines.join('\n');
}

/** Every run: its facts, then its invariants table. */
export function report(results: RunResult[]): void {
  for (const [i, r] of results.entries()) {
    console.log(`\n=== run ${i + 1}: ${r.pass ? 'PASS' : 'FAIL'} (${(r.durationMs / 1000).toFixed(0)} s) ===`);
    const width = Math.max(...r.facts.map(([k]) => k.length));
    for (const [k, v] of r.facts) console.log(`  ${k.padEnd(width)}  ${v}`);
    console.log(`\n${formatTable(r.verdicts)}`);
    if (!r.pass) console.log(`\n  kept for inspection: ${r.runDir}`);
  }
}
