/**
 * Scenario 6: storage writes per session per flush window. In one flush window (the default
 * AUTH_FLUSH_INTERVAL_MS / MESSAGE_LOG_FLUSH_INTERVAL_MS), each of S sessions gets 1,000 Signal
 * key updates (plus a creds update every 50) through the worker's real auth state
 * (BlobSessionStore on local disk, encrypted), and 1,000 message-history records; objects
 * written are counted by a BlobStore wrapper around the real LocalDiskStore (and cross-checked
 * with BlobSessionStore.stats.writes). Baseline: Baileys' own useMultiFileAuthState given the
 * same updates (one file per key written, one per creds save); bare Baileys keeps no message log.
 */
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { useMultiFileAuthState } from '@whiskeysockets/baileys';
import { createCodec, createSessionStore, LocalDiskStore, parseKeyring } from '../../../src/storage/index.js';
import type { BlobStore } from '../../../src/storage/types.js';
import { BlobMessageHistory } from '../../../src/messaging/message-history.js';
import { figure, removeDir, tempDir, type BenchContext } from '../context.js';
import type { ScenarioResult } from '../types.js';
import { sessionIdFor } from '../../../src/commands/session-identity.js';

const UPDATES = 1000;
const CREDS_EVERY = 50;

class CountingBlobStore implements BlobStore {
  puts = 0;
  constructor(private readonly inner: BlobStore) {}
  get(key: string) {
    return this.inner.get(key);
  }
  put(key: string, body: Buffer) {
    this.puts++;
    return this.inner.put(key, body);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  listChildren(prefix: string) {
    return this.inner.listChildren(prefix);
  }
  deletePrefix(prefix: string) {
    return this.inner.deletePrefix(prefix);
  }
}

const preKey = () => ({ public: randomBytes(32), private: randomBytes(32) });
/** The s-th session of the scenario (numberId 9000 + s), named exactly as the worker names it. */
const sessionIdOf = (s: number) => sessionIdFor(9000 + s, `+4917100${String(s).padStart(5, '0')}`);

export async function storageWritesScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const sessions = ctx.quick ? 5 : 20;
  const windows = ctx.quick ? 2 : 5;
  const flushIntervalMs = 1000;
  const dir = tempDir(ctx, 'writes');
  const counting = new CountingBlobStore(new LocalDiskStore(dir));
  const codec = createCodec(parseKeyring(randomBytes(32).toString('hex')));
  const store = createSessionStore({ blobStore: counting, codec, flushIntervalMs });
  const history = new BlobMessageHistory(counting, codec, { flushIntervalMs, logger: pino({ level: 'silent' }) });
  const authPerWindow: number[] = [];
  const msgPerWindow: number[] = [];
  const basePerWindow: number[] = [];
  let statsWrites: number | undefined;
  try {
    const handles = await Promise.all(Array.from({ length: sessions }, (_, i) => store.openAuthState(sessionIdOf(i))));
    let nextId = 1;
    for (let w = 0; w < windows; w++) {
      // Auth: 1,000 key updates per session, as Baileys issues them (small batches, awaited).
      const before = counting.puts;
      await Promise.all(
        handles.map(async (h) => {
          for (let i = 0; i < UPDATES; i++) {
            await h.state.keys.set({ 'pre-key': { [String(nextId++)]: preKey() } });
            if (i % CREDS_EVERY === 0) h.saveCreds();
          }
        }),
      );
      await sleep(flushIntervalMs + 500);
      await Promise.all(handles.map((h) => h.flush()));
      authPerWindow.push((counting.puts - before) / sessions);

      // Message history: 1,000 records per session in the window.
      const beforeMsg = counting.puts;
      for (let s = 0; s < sessions; s++) {
        for (let i = 0; i < UPDATES; i++)
          history.append(sessionIdOf(s), {
            direction: 'out',
            messageId: `m${w}-${s}-${i}`,
            at: Date.now(),
            chat: '4915199990001@s.whatsapp.net',
            type: 'text',
            text: `message ${i}`,
          });
      }
      await sleep(flushIntervalMs + 500);
      await history.flush();
      msgPerWindow.push((counting.puts - beforeMsg) / sessions);

      // Baseline: useMultiFileAuthState with the same updates, one folder per session.
      let baseWrites = 0;
      for (let s = 0; s < sessions; s++) {
        const folder = tempDir(ctx, 'multifile');
        const { state, saveCreds } = await useMultiFileAuthState(folder);
        let credsSaves = 0;
        for (let i = 0; i < UPDATES; i++) {
          await state.keys.set({ 'pre-key': { [String(nextId++)]: preKey() } });
          if (i % CREDS_EVERY === 0) {
            await saveCreds();
            credsSaves++;
          }
        }
        // Every key update is its own file; creds.json is rewritten per save.
        baseWrites += readdirSync(folder).filter((f) => f !== 'creds.json').length + credsSaves;
        removeDir(folder);
      }
      basePerWindow.push(baseWrites / sessions);
      ctx.log(
        `  storage writes window ${w + 1}/${windows}: worker auth ${authPerWindow[w]} / session, history ${msgPerWindow[w]} / session, useMultiFileAuthState ${basePerWindow[w]} / session`,
      );
    }
    for (const h of handles) await h.close();
    statsWrites = (store as { stats?: { writes: number } }).stats?.writes ?? Number.NaN;
  } finally {
    await history.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    removeDir(dir);
  }
  const target = { target: ({ worker }: { worker: number }) => ({ text: '≤ 1 write / session / window', met: worker <= 1 }) };
  return {
    id: 'storage-writes',
    title: 'Storage writes per session per flush window',
    measures: `Objects PUT per session in one ${flushIntervalMs} ms flush window carrying ${UPDATES} key updates (+ a creds update every ${CREDS_EVERY}) or ${UPDATES} message records; counted by a wrapper around the real LocalDiskStore. Mean over windows.`,
    status: 'ok',
    settings: { sessions, windows, flushIntervalMs, updatesPerWindow: UPDATES, credsEvery: CREDS_EVERY, encrypted: true },
    figures: [
      figure({ name: `auth: ${UPDATES} key updates`, unit: 'writes', stat: 'mean', worker: authPerWindow, baseline: basePerWindow, ...target }),
      figure({ name: `history: ${UPDATES} messages`, unit: 'writes', stat: 'mean', worker: msgPerWindow, baseline: null, ...target }),
    ],
    notes: [
      `BlobSessionStore.stats.writes at the end: ${statsWrites ?? 'n/a'} (auth objects over ${sessions} sessions × ${windows} windows, plus the final close).`,
      'Baseline = Baileys useMultiFileAuthState (one file per key, creds.json per save); bare Baileys has no message log, so history has no baseline.',
    ],
    durationMs: Date.now() - started,
  };
}
