#!/usr/bin/env node
/* global process, console, setTimeout, clearTimeout */
/**
 * A small mutation check for the guarantees that matter most. Each mutant plants one bug (a
 * string replacement in one file under src/) in a copy of the project, runs the tests named for
 * it, and expects them to FAIL; the copy is restored before the next one. It prints a table
 * mutant → caught / MISSED, with the test that caught it.
 *
 *   npm run mutation                      every mutant
 *   npm run mutation -- outbox-back ...   only these
 *   npm run mutation -- --list            the mutants, without running anything
 *   npm run mutation -- --check           only check that every mutant still applies to the code
 *   npm run mutation -- --no-baseline     skip the check that the named tests pass unmutated
 *
 * A mutant whose target text is no longer in its file is looked for in every file under src/
 * (code moves when files are split); when it is found nowhere, or in several places, the
 * script stops before running anything and says which mutant to update: a check that silently
 * mutates nothing would report "missed" (or worse, "caught" by an unrelated failure).
 *
 * Needs RabbitMQ (the integration tests do). Exit code: 0 when every mutant is caught, 1 when
 * one is missed or its run errored, 2 when a mutant cannot be applied. Not run in CI: a run
 * takes several minutes.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** One run of the named tests must end within this (a mutant can make a test hang). */
const RUN_TIMEOUT_MS = 5 * 60_000;

/**
 * `file`: where the target is expected; `find`: the exact text, which must occur once;
 * `tests`: the test files to run; `only`: a Jest -t pattern narrowing them to the tests that
 * guard this guarantee (faster, and the table names the one that fails).
 */
const MUTANTS = [
  {
    id: 'outbox-back',
    guarantee: 'unconfirmed events go back to the HEAD of the outbox on channel/connection loss (order kept)',
    file: 'src/broker/confirmed-publisher.ts',
    find: 'this.outbox.unshift(...unconfirmed);',
    replace: 'this.outbox.push(...unconfirmed);',
    tests: ['test/integration/confirmed-publisher.test.ts'],
    only: 'in flight and more waiting',
  },
  {
    id: 'outbox-dropped-on-connection-loss',
    guarantee: 'unconfirmed events are kept (not dropped) when the connection is lost',
    file: 'src/broker/confirmed-publisher.ts',
    find: 'this.outbox.unshift(...unconfirmed);',
    replace: 'if (refusal) this.outbox.unshift(...unconfirmed);',
    tests: ['test/integration/confirmed-publisher.test.ts'],
    only: 'in flight and more waiting',
  },
  {
    id: 'refused-handler-removed',
    guarantee: 'a worker back from a short outage that finds its queue held lets its sessions go (one owner)',
    file: 'src/worker.ts',
    find: ".on('refused', () => lease.queueRefused())",
    replace: ".on('refused-ignored', () => lease.queueRefused())",
    tests: ['test/integration/ownership-and-shutdown.test.ts'],
    only: 'within its lease',
  },
  {
    id: 'lease-never-expires',
    guarantee: 'a worker cut off past OWNERSHIP_LEASE_MS lets its sessions go',
    file: 'src/fleet/ownership-lease.ts',
    find: 'this.timer.schedule(next.leaseEndsAt - Date.now(), () => this.leaseExpired());',
    replace: 'void 0; // lease timer never started',
    tests: ['test/integration/ownership-and-shutdown.test.ts'],
    only: 'past its lease',
  },
  {
    id: 'classic-attempts-stuck-at-1',
    guarantee: 'on a classic queue a failing command is retried COMMAND_MAX_ATTEMPTS times, then dead-lettered',
    file: 'src/commands/command-handler.ts',
    find: 'delivery.deliveryCount !== undefined ? delivery.deliveryCount + 1 : attempts.next(key)',
    replace: '(delivery.deliveryCount ?? 0) + 1',
    tests: ['test/integration/queue-consumer.test.ts'],
    only: 'classic queue',
  },
  {
    id: 'exclusive-refusal-read-as-success',
    guarantee: 'an exclusive consume the broker refuses is a refusal (standby, retried), not a success',
    file: 'src/broker/queue-consumer.ts',
    find: 'throw failure ?? err;',
    replace: 'return;',
    tests: ['test/integration/queue-consumer.test.ts', 'test/integration/command-contract.test.ts'],
    only: 'exclusive|same WORKER_ID',
  },
  {
    id: 'non-exclusive-worker-queue',
    guarantee: "a worker's own queue has one exclusive consumer in the fleet",
    file: 'src/worker.ts',
    find: 'exclusive: true,',
    replace: 'exclusive: false,',
    tests: ['test/integration/command-contract.test.ts'],
    only: 'same WORKER_ID',
  },
  {
    id: 'bad-command-acked',
    guarantee: 'a command that cannot be parsed is dead-lettered, not acked and lost',
    file: 'src/commands/command-handler.ts',
    find: "return { kind: 'dead-letter', code: parsed.code, reason: parsed.reason };",
    replace: "return { kind: 'ack' };",
    tests: ['test/integration/queue-consumer.test.ts'],
    only: 'cannot be parsed',
  },
  {
    id: 'release-without-worker-user-id',
    guarantee: "`release` is accepted only with the workers' broker user_id",
    file: 'src/commands/command-handler.ts',
    find: "command.action === 'release' && deps.workerUser !== undefined && delivery.userId !== deps.workerUser",
    replace: "command.action === 'release' && deps.workerUser !== undefined && false",
    tests: ['test/integration/foreign-commands.test.ts'],
    only: 'release',
  },
  {
    id: 'forward-copies-sender-headers',
    guarantee: 'a forwarded command carries only allow-listed headers',
    file: 'src/broker/outgoing-properties.ts',
    find: "      ...traceHeaders(delivery.headers),\n      'x-forwarded-by': opts.forwardedBy,",
    replace: "      ...delivery.headers,\n      'x-forwarded-by': opts.forwardedBy,",
    tests: ['test/unit/outgoing-properties.test.ts'],
  },
  {
    id: 'ssrf-check-disabled',
    guarantee: 'a media url resolving to a private address is not fetched',
    file: 'src/util/address-policy.ts',
    find: "if (c.kind === 'public') return undefined;",
    replace: "if (c.kind === 'public' || c.kind !== 'public') return undefined;",
    tests: ['test/unit/media-fetch.test.ts', 'test/unit/address-policy.test.ts'],
  },
  {
    id: 'gcm-tag-unchecked',
    guarantee: 'an altered encrypted object fails (the GCM tag is verified)',
    file: 'src/storage/encryption.ts',
    find: 'decipher.update(stored.subarray(headerLength + IV_LENGTH + TAG_LENGTH)), decipher.final()]',
    replace: 'decipher.update(stored.subarray(headerLength + IV_LENGTH + TAG_LENGTH))]',
    tests: ['test/unit/storage/encryption.test.ts'],
  },
  {
    id: 'connected-before-flush',
    guarantee: '`connected` after a new link goes out only once the credentials are flushed',
    file: 'src/sessions/session-socket.ts',
    find: 'await this.auth?.flush().then(',
    replace: 'void this.auth?.flush().then(',
    tests: ['test/unit/session-lifecycle.test.ts'],
    only: 'flushed',
  },
  {
    id: 'sessions-serialised-globally',
    guarantee: 'commands of different sessions proceed in parallel',
    file: 'src/util/keyed-serial-queue.ts',
    find: 'const previous = this.tails.get(key) ?? Promise.resolve();',
    replace: 'const previous = [...this.tails.values()].at(-1) ?? Promise.resolve();',
    tests: ['test/unit/session-lifecycle.test.ts'],
    only: 'in parallel',
  },
  {
    id: 'message-id-derivation-changed',
    guarantee: 'the WhatsApp id derived from (sessionId, requestId) stays the same across versions (dedupe)',
    file: 'src/messaging/message-id.ts',
    find: "'wa-worker/send_message/v1\\0'",
    replace: "'wa-worker/send_message/v2\\0'",
    tests: ['test/unit/stable-ids.test.ts'],
  },
  {
    id: 'heartbeat-queue-keeps-oldest',
    guarantee: 'the bounded heartbeat queue drops its OLDEST messages',
    file: 'src/broker/topology.ts',
    find: "'x-overflow': 'drop-head'",
    replace: "'x-overflow': 'reject-publish'",
    tests: ['test/integration/heartbeat.test.ts'],
    only: 'oldest',
  },
  {
    id: 'receipt-before-confirm',
    guarantee: 'WhatsApp gets the receipt of an incoming message only after its message_received is confirmed',
    file: 'src/messaging/session-messaging.ts',
    find: '    const media = m.media ? await storeReceivedMedia',
    replace: '    m.acknowledge();\n    const media = m.media ? await storeReceivedMedia',
    tests: ['test/unit/messaging.test.ts'],
    only: 'receipt',
  },
  {
    id: 'receipt-gate-sends-after-close',
    guarantee: 'a receipt released after its socket closed is not sent (WhatsApp redelivers instead)',
    file: 'src/whatsapp/receipt-gate.ts',
    find: '      if (sent || this.closed) return;',
    replace: '      if (sent) return;',
    tests: ['test/unit/receipt-gate.test.ts'],
  },
  {
    id: 'history-receipt-before-confirm',
    guarantee: "the phone gets a history chunk's receipt only after all the chunk's events are confirmed",
    file: 'src/messaging/history-sync.ts',
    find: '  const window = new ConfirmWindow(batch);',
    replace: '  chunk.acknowledge();\n  const window = new ConfirmWindow(batch);',
    tests: ['test/unit/history-sync.test.ts'],
  },
  {
    id: 'history-window-unbounded',
    guarantee: 'at most HISTORY_EVENT_BATCH message events of a history chunk wait for their broker confirm',
    file: 'src/messaging/history-sync.ts',
    find: 'if (this.pending.length >= this.size) await this.pending.shift();',
    replace: 'if (this.pending.length >= Infinity) await this.pending.shift();',
    tests: ['test/unit/history-sync.test.ts'],
  },
];

// ---- command line ---------------------------------------------------------------------------

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const wanted = args.filter((a) => !a.startsWith('--'));
for (const id of wanted) {
  if (!MUTANTS.some((m) => m.id === id)) fail(2, `unknown mutant "${id}"; known: ${MUTANTS.map((m) => m.id).join(', ')}`);
}
const selected = wanted.length ? MUTANTS.filter((m) => wanted.includes(m.id)) : MUTANTS;
if (flags.has('--list')) {
  for (const m of selected)
    console.log(`${m.id.padEnd(36)} ${m.file}  →  ${m.tests.join(', ')}${m.only ? ` (-t "${m.only}")` : ''}\n${' '.repeat(37)}${m.guarantee}`);
  process.exit(0);
}

function fail(code, message) {
  console.error(`mutation-check: ${message}`);
  process.exit(code);
}

// ---- where each mutant applies -----------------------------------------------------------------

function srcFiles(dir = join(ROOT, 'src')) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? srcFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}
const occurrences = (text, find) => text.split(find).length - 1;

/** Where each mutant applies (`m.at`, relative): its own file, or the one file under src/ the target moved to. */
const problems = [];
for (const m of selected) {
  for (const t of m.tests) if (!existsSync(join(ROOT, t))) problems.push(`${m.id}: test file ${t} does not exist`);
  const own = join(ROOT, m.file);
  const inOwn = existsSync(own) ? occurrences(readFileSync(own, 'utf8'), m.find) : 0;
  if (inOwn === 1) {
    m.at = m.file;
    continue;
  }
  if (inOwn > 1) {
    problems.push(`${m.id}: the target occurs ${inOwn} times in ${m.file}; make "find" unique`);
    continue;
  }
  const found = srcFiles().filter((f) => occurrences(readFileSync(f, 'utf8'), m.find) > 0);
  if (found.length === 1 && occurrences(readFileSync(found[0], 'utf8'), m.find) === 1) {
    m.at = relative(ROOT, found[0]);
    m.moved = true;
  } else {
    problems.push(
      `${m.id}: the target is not in ${m.file}${found.length ? `, and occurs in several places (${found.map((f) => relative(ROOT, f)).join(', ')})` : ' nor anywhere under src/'}: the code changed; update this mutant.\n    find: ${JSON.stringify(m.find)}`,
    );
  }
}
if (problems.length) fail(2, `cannot apply ${problems.length} mutant(s):\n  ${problems.join('\n  ')}`);
if (flags.has('--check')) {
  for (const m of selected) console.log(`${m.id.padEnd(36)} applies to ${m.at}${m.moved ? ` (moved from ${m.file})` : ''}`);
  process.exit(0);
}

// ---- a copy of the project ----------------------------------------------------------------------

const SKIP = new Set(['node_modules', '.git', 'dist', 'storage', 'coverage']);
const work = mkdtempSync(join(tmpdir(), 'wa-mutation-'));
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}
cpSync(ROOT, work, { recursive: true, filter: (src) => !SKIP.has(relative(ROOT, src).split(/[\\/]/)[0]) });
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
for (const m of selected) {
  m.path = join(work, m.at);
  // The copy is the code the targets were found in (it is copied right after): check again.
  if (occurrences(readFileSync(m.path, 'utf8'), m.find) !== 1) fail(2, `${m.id}: ${m.at} changed while the project was being copied; run again`);
}

// ---- running the tests ----------------------------------------------------------------------------

let runNo = 0;
/** Runs Jest on `tests` (-t `only`) in the copy; what passed and what failed. */
function runJest(tests, only) {
  const out = join(work, `.jest-result-${++runNo}.json`);
  const argv = [
    '--experimental-vm-modules',
    'node_modules/jest/bin/jest.js',
    '--ci',
    '--maxWorkers=1',
    '--json',
    `--outputFile=${out}`,
    ...(only ? ['-t', only] : []),
    ...tests,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      cwd: work,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const started = Date.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL'); // Jest and its workers: the group this run started
      } catch {
        /* already gone */
      }
    }, RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Math.round((Date.now() - started) / 1000);
      let report;
      try {
        report = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        report = undefined;
      }
      const failed = [];
      const suiteErrors = [];
      let passed = 0;
      for (const file of report?.testResults ?? []) {
        const name = relative(work, file.name);
        for (const a of file.assertionResults ?? []) {
          if (a.status === 'failed') failed.push(`${name} › ${a.title}`);
          if (a.status === 'passed') passed++;
        }
        if (file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed'))
          suiteErrors.push(`${name}: ${firstLine(file.message)}`);
      }
      resolve({ code, seconds, timedOut, passed, failed, suiteErrors, output, report });
    });
  });
}

const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const firstLine = (text = '') =>
  text
    .replace(ANSI_COLOUR, '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('●')) ?? '';

const key = (m) => `${m.tests.join(' ')} -t ${m.only ?? ''}`;

if (!flags.has('--no-baseline')) {
  const groups = new Map();
  for (const m of selected) groups.set(key(m), m);
  console.log(`baseline: the named tests must pass without any mutant (${groups.size} run(s))`);
  for (const m of groups.values()) {
    const r = await runJest(m.tests, m.only);
    const ok = r.code === 0 && r.passed > 0 && r.failed.length === 0 && r.suiteErrors.length === 0;
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${key(m)} (${r.passed} passed, ${r.seconds} s)`);
    if (!ok) {
      console.log(
        r.failed
          .concat(r.suiteErrors)
          .map((f) => `       ${f}`)
          .join('\n') || r.output.slice(-3000),
      );
      fail(1, 'the unmutated project does not pass the named tests; fix that first (a mutant would be "caught" by an unrelated failure)');
    }
  }
}

const results = [];
for (const m of selected) {
  const original = readFileSync(m.path, 'utf8');
  writeFileSync(
    m.path,
    original.replace(m.find, () => m.replace),
  );
  process.stdout.write(`${m.id} … `);
  let r;
  try {
    r = await runJest(m.tests, m.only);
  } finally {
    writeFileSync(m.path, original);
  }
  let verdict;
  let by;
  if (r.timedOut) {
    verdict = 'ERROR';
    by = `the run did not end within ${RUN_TIMEOUT_MS / 1000} s`;
  } else if (r.failed.length > 0) {
    verdict = 'caught';
    by = r.failed[0] + (r.failed.length > 1 ? ` (+${r.failed.length - 1} more)` : '');
  } else if (r.suiteErrors.length > 0) {
    verdict = 'caught*';
    by = `suite failed to run: ${r.suiteErrors[0]}`;
  } else if (r.code !== 0) {
    verdict = 'ERROR';
    by = `jest exited ${r.code} without a failed test: ${firstLine(r.output.slice(-2000))}`;
  } else {
    verdict = 'MISSED';
    by = `${r.passed} test(s) passed with the bug in place`;
  }
  console.log(`${verdict} (${r.seconds} s)`);
  results.push({ m, verdict, by, seconds: r.seconds });
}

const rows = [
  ['mutant', 'planted in', 'guarantee', 'result', 'caught by'],
  ...results.map(({ m, verdict, by, seconds }) => [m.id, m.at + (m.moved ? ' (moved)' : ''), m.guarantee, `${verdict} (${seconds} s)`, by]),
];
const escape = (s) => String(s).replace(/\|/g, '\\|');
console.log('');
console.log(`| ${rows[0].join(' | ')} |`);
console.log(`|${rows[0].map(() => ' --- ').join('|')}|`);
for (const row of rows.slice(1)) console.log(`| ${row.map(escape).join(' | ')} |`);
const caught = results.filter((r) => r.verdict.startsWith('caught')).length;
console.log(
  `\n${caught} of ${results.length} mutants caught${results.some((r) => r.verdict === 'caught*') ? ' (* = the suite failed to load rather than a test failing)' : ''}.`,
);
process.exitCode = caught === results.length ? 0 : 1;
