/**
 * Linked accounts for the scenarios that need open sessions (memory, restore, send). Each account
 * is linked ONCE per run, its creds and keys are kept, and every later measurement logs in from
 * them (worker: a restore from its storage; baseline: a bare login from in-memory creds), so both
 * sides start from the same credentials.
 *
 * How an account is made (`registerSeeds`): fresh Baileys creds (`initAuthCreds()`); the emulator
 * registers the companion device from the registration data Baileys would send in its
 * REGISTRATION payload and answers with the `<pair-success>` the phone would send (see
 * emulator-child.ts `register`); Baileys' own `configureSuccessfulPairing` turns that into the
 * linked creds (me, account signature, signal identities), exactly what a scanned QR leaves; then
 * ONE bare login takes the first-login bootstrap (app-state key share, history bootstrap) and the
 * seed is snapshotted once Baileys counted its initial sync (accountSyncCounter ≥ 1). Only the QR
 * display + scan + 515 round trip is skipped (that path is timed by the QR/link scenarios).
 */
import { configureSuccessfulPairing, Curve, initAuthCreds, type AuthenticationCreds } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSessionId, SESSIONS_PREFIX } from '../../src/storage/object-keys.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.js';
import { sessionIdFor } from '../../src/commands/session-identity.js';
import { createStorageFromConfig, storageOptions } from '../../src/storage/index.js';
import { authFromSeed, inLanes, keyData, memoryAuth, openClient, type Seed } from './baseline.js';
import type { RemoteEmulator } from './emulator-remote.js';

let phoneCounter = 0;
/** Unique per run: numberId n, phone +49170 then n on 7 digits. */
export function nextNumber(): { numberId: number; phone: string } {
  const n = ++phoneCounter;
  return { numberId: n, phone: `+49170${String(n).padStart(7, '0')}` };
}

/** How the seeds were made, for the scenario notes. */
export const SEED_METHOD =
  "Accounts made once per run and reused: fresh Baileys creds, the companion device registered in the emulator without the QR display/scan/515 round trip (emulator answers the <pair-success> a phone sends; Baileys' configureSuccessfulPairing completes it), then one bare first login (app-state key share + history bootstrap) before the creds and keys are snapshotted.";

/** Fresh creds, the device registered in the emulator, the <pair-success> applied as Baileys does after a scan. */
async function pairedCreds(emulator: RemoteEmulator, phone: string, firstLoginDone: boolean): Promise<AuthenticationCreds> {
  const creds = initAuthCreds();
  const { stanza } = await emulator.register({
    phone,
    noiseKey: creds.noiseKey.public,
    identityKey: creds.signedIdentityKey.public,
    registrationId: creds.registrationId,
    signedPreKey: { keyId: creds.signedPreKey.keyId, publicKey: creds.signedPreKey.keyPair.public, signature: creds.signedPreKey.signature },
    advSecret: Buffer.from(creds.advSecretKey, 'base64'),
    firstLoginDone,
  });
  return Object.assign(creds, configureSuccessfulPairing(stanza, creds).creds);
}

async function registerOne(emulator: RemoteEmulator, numberId: number, phone: string, timeoutMs: number): Promise<Seed> {
  const auth = memoryAuth(await pairedCreds(emulator, phone, false));
  const { client, opened } = openClient(emulator.url, auth, timeoutMs);
  try {
    await opened;
    // the first login's bootstrap: Baileys bumps accountSyncCounter once the initial sync is done
    const deadline = Date.now() + timeoutMs;
    while (!(auth.state.creds.accountSyncCounter > 0)) {
      if (Date.now() > deadline) throw new Error(`${phone}: first-login bootstrap not done within ${timeoutMs} ms`);
      await sleep(20);
    }
  } finally {
    client.end();
  }
  const copy = authFromSeed({ numberId, phone, creds: auth.state.creds, keys: keyData(auth) });
  return { numberId, phone, creds: copy.state.creds, keys: keyData(copy) };
}

export async function registerSeeds(
  emulator: RemoteEmulator,
  count: number,
  opts: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const items = Array.from({ length: count }, () => nextNumber());
  let done = 0;
  await inLanes(items, opts.concurrency ?? 16, async ({ numberId, phone }) => {
    seeds.push(await registerOne(emulator, numberId, phone, 60_000));
    opts.onProgress?.(++done);
  });
  return seeds;
}

/** How the accounts beyond the fully linked ones were made, for the scenario notes. */
export const LITE_SEED_METHOD =
  "Accounts beyond the first 1,000 (the scale runs, N = 5,000) are made in bulk, without the bare first login and without a <pair-success> each: the emulator adds each one's device (own noise key, first login marked done: no app-state key share or history bootstrap at its next login) and the creds are those of one account paired as above with me / LID / noise key / phone identity replaced and accountSyncCounter = 1 (as after a first sync), so every later login is a plain re-login with a Noise handshake of its own, like the others'. They share the identity and signed prekey of that account (only Signal sessions with contacts would tell them apart, and no contact writes to them) and their key store lacks the app-state sync key and the session with the own phone (a few KB). Why: a first login costs ~120 ms of CPU and a pairing three pure-JS curve25519 signatures (~10–20 ms each) on this machine; 4,000 of either would add minutes to the run.";

/**
 * Accounts for the scale runs (thousands), made in bulk: see LITE_SEED_METHOD. A fraction of a
 * millisecond each (one native X25519 key pair), in batches of `batch` per emulator call.
 */
export async function registerLiteSeeds(
  emulator: RemoteEmulator,
  count: number,
  opts: { batch?: number; onProgress?: (done: number) => void } = {},
): Promise<Seed[]> {
  const seeds: Seed[] = [];
  if (count <= 0) return seeds;
  const first = nextNumber();
  const template = await pairedCreds(emulator, first.phone, true);
  template.accountSyncCounter = 1;
  seeds.push({ numberId: first.numberId, phone: first.phone, creds: template, keys: {} });
  const shared = {
    identityKey: template.signedIdentityKey.public,
    registrationId: template.registrationId,
    signedPreKey: { keyId: template.signedPreKey.keyId, publicKey: template.signedPreKey.keyPair.public, signature: template.signedPreKey.signature },
  };
  const batch = opts.batch ?? 500;
  while (seeds.length < count) {
    const numbers = Array.from({ length: Math.min(batch, count - seeds.length) }, () => ({ ...nextNumber(), noiseKey: Curve.generateKeyPair() }));
    const devices = await emulator.registerBulk(
      numbers.map((x) => ({ phone: x.phone, noiseKey: x.noiseKey.public })),
      shared,
    );
    for (const [k, x] of numbers.entries()) {
      const d = devices[k]!;
      const creds = authFromSeed({ numberId: x.numberId, phone: x.phone, creds: template, keys: {} }).state.creds;
      const lid = `${d.lid}:${d.deviceId}@lid`;
      Object.assign(creds, {
        noiseKey: x.noiseKey,
        advSecretKey: randomBytes(32).toString('base64'),
        me: { id: `${d.phone}:${d.deviceId}@s.whatsapp.net`, lid },
        // what configureSuccessfulPairing records: the phone's identity (0x05-prefixed), under the LID
        signalIdentities: [{ identifier: { name: lid, deviceId: 0 }, identifierKey: Buffer.concat([Buffer.from([5]), Buffer.from(d.accountKey)]) }],
      });
      seeds.push({ numberId: x.numberId, phone: x.phone, creds, keys: {} });
    }
    opts.onProgress?.(seeds.length);
  }
  return seeds;
}

/** Writes seeds into a worker's storage exactly as a linked session leaves it: metadata + auth state. */
export async function seedWorkerStorage(env: Record<string, string | undefined>, seeds: readonly Seed[]): Promise<void> {
  const config = loadConfig(env);
  const storage = await createStorageFromConfig(storageOptions(config.storage));
  const now = Date.now();
  // each object is written durably (fsync): the lanes overlap those waits
  await inLanes(seeds, 64, async (seed) => {
    const sessionId = sessionIdFor(seed.numberId, seed.phone);
    const copy = authFromSeed(seed);
    await storage.store.saveMeta({
      sessionId,
      numberId: seed.numberId,
      phoneNumber: seed.phone,
      workerId: config.workerId,
      jid: copy.state.creds.me?.id,
      createdAt: now,
      updatedAt: now,
    });
    const handle = await storage.store.openAuthState(sessionId);
    Object.assign(handle.state.creds, copy.state.creds);
    await handle.state.keys.set(keyData(copy) as never);
    handle.saveCreds();
    await handle.close();
  });
  await storage.close();
}

/**
 * Local-disk storages for several N from ONE seeding: the largest set of sessions is written once
 * into a master folder through the worker's own store (as `seedWorkerStorage`), and each storage
 * gets a copy of the first n session folders. Writing through the store costs a few fsyncs per
 * object (the store is durable): 5,000 sessions take minutes on this disk, a copy seconds. The
 * metadata names one worker id, so every storage made from one cache is for that worker id.
 */
export class LocalSeedCache {
  private seeded = 0;

  constructor(
    /** Worker environment for the master folder (STORAGE_DIR, worker id, encryption key). */
    private readonly masterEnv: Record<string, string | undefined>,
  ) {}

  /** Fills `dir` (a fresh storage folder) with the sessions of `seeds`, seeding the master first if needed. */
  async fill(seeds: readonly Seed[], dir: string): Promise<void> {
    if (seeds.length > this.seeded) {
      await seedWorkerStorage(this.masterEnv, seeds.slice(this.seeded));
      this.seeded = seeds.length;
    }
    const from = join(this.masterEnv.STORAGE_DIR!, SESSIONS_PREFIX);
    const to = join(dir, SESSIONS_PREFIX);
    await inLanes(seeds, 32, async (seed) => {
      const segment = encodeSessionId(sessionIdFor(seed.numberId, seed.phone));
      await cp(join(from, segment), join(to, segment), { recursive: true });
    });
  }
}
