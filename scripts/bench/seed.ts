/**
 * Linked accounts for the scenarios that need open sessions (memory, restore, send). Linking
 * hundreds of sessions through QR + scan is slow, so each account is linked ONCE per run with a
 * bare Baileys client (QR → emulator scan → 515 → open), its creds and keys are kept, and every
 * later measurement logs in from them (worker: a restore from its storage; baseline: a bare
 * login from in-memory creds). Both sides therefore start from the same credentials.
 */
import { loadConfig } from '../../src/config/config.js';
import { createStorageFromConfig, storageOptions } from '../../src/storage/index.js';
import type { Emulator } from '../../test/emulator/index.js';
import { authFromSeed, inLanes, keyData, memoryAuth, openClient, type Seed } from './baseline.js';

let phoneCounter = 0;
/** Unique per run: numberId n, phone +49170 then n on 7 digits. */
export function nextNumber(): { numberId: number; phone: string } {
  const n = ++phoneCounter;
  return { numberId: n, phone: `+49170${String(n).padStart(7, '0')}` };
}

export function sessionIdOf(numberId: number, phone: string): string {
  return `session_${numberId}_${phone}`;
}

export async function linkSeeds(emulator: Emulator, count: number, opts: { concurrency?: number; onProgress?: (done: number) => void } = {}): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const items = Array.from({ length: count }, () => nextNumber());
  let done = 0;
  await inLanes(items, opts.concurrency ?? 8, async ({ numberId, phone }) => {
    const auth = memoryAuth();
    let scanned = false;
    const { client, opened } = openClient(emulator.url, auth, 60_000, (qr) => {
      if (scanned) return;
      scanned = true;
      emulator.scanQr(qr, { phoneNumber: phone }).catch(() => undefined);
    });
    try {
      await opened;
      // Let the post-login burst (creds and app-state keys) land before taking the snapshot.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      client.end();
    }
    const copy = authFromSeed({ numberId, phone, creds: auth.state.creds, keys: keyData(auth) });
    seeds.push({ numberId, phone, creds: copy.state.creds, keys: keyData(copy) });
    opts.onProgress?.(++done);
  });
  return seeds;
}

/** Writes seeds into a worker's storage exactly as a linked session leaves it: metadata + auth state. */
export async function seedWorkerStorage(env: Record<string, string | undefined>, seeds: readonly Seed[]): Promise<void> {
  const config = loadConfig(env);
  const storage = await createStorageFromConfig(storageOptions(config.storage));
  const now = Date.now();
  await inLanes(seeds, 16, async (seed) => {
    const sessionId = sessionIdOf(seed.numberId, seed.phone);
    const copy = authFromSeed(seed);
    await storage.store.saveMeta({ sessionId, numberId: seed.numberId, phoneNumber: seed.phone, workerId: config.workerId, jid: copy.state.creds.me?.id, createdAt: now, updatedAt: now });
    const handle = await storage.store.openAuthState(sessionId);
    Object.assign(handle.state.creds, copy.state.creds);
    await handle.state.keys.set(keyData(copy) as never);
    handle.saveCreds();
    await handle.close();
  });
  await storage.close();
}
