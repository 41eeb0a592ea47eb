/** Shared steps for the emulator's own tests. */
import * as baileys from '@whiskeysockets/baileys';
import type { UserFacingSocketConfig } from '@whiskeysockets/baileys';
import type { EmulatorServer } from './server.js';
import { installStrictCertVerification, trustRoot } from './strict-verify.js';
import type { MemoryAuth } from './test-client.js';
import { memoryAuth, TestClient } from './test-client.js';

/** Trust the emulator's root and make signature checks real; returns an undo function. */
export function trustEmulator(emu: EmulatorServer): () => void {
  const untrust = trustRoot(baileys, emu.rootPublicKey);
  const unstrict = installStrictCertVerification(baileys);
  return () => {
    unstrict();
    untrust();
  };
}

/**
 * QR-links a fresh client as `phone` and logs it in. Returns the (closed after 515)
 * registration client and the logged-in, open client sharing the same auth state.
 */
export async function linkViaQr(
  emu: EmulatorServer,
  phone: string,
  extra: Partial<UserFacingSocketConfig> = {},
): Promise<{ auth: MemoryAuth; client: TestClient; jid: string; lid: string }> {
  const auth = memoryAuth();
  const reg = new TestClient(emu.url, auth, extra);
  try {
    const qr = await reg.qr(0);
    await emu.scanQr(qr, { phoneNumber: phone });
    const code = await reg.closed();
    if (code !== 515) throw new Error(`expected 515 after pairing, got ${code}`);
  } finally {
    await reg.end();
  }
  const client = new TestClient(emu.url, auth, extra);
  await client.ready(20_000);
  const me = auth.creds.me;
  return { auth, client, jid: me?.id ?? '', lid: me?.lid ?? '' };
}

/**
 * libsignal (used by both Baileys and the emulated peers) reports routine session
 * replacement with console.info/console.warn ("Closing session: ..."). Filters those
 * lines out; returns a restore function.
 */
export function quietLibsignal(): () => void {
  const { info, warn } = console;
  const routine = (args: unknown[]): boolean =>
    typeof args[0] === 'string' &&
    /^(Closing (open )?session|Opening session|Session already|Decrypted message with closed session|Removing old closed session|Migrating session)/.test(
      args[0],
    );
  console.info = (...args: unknown[]) => {
    if (!routine(args)) info(...args);
  };
  console.warn = (...args: unknown[]) => {
    if (!routine(args)) warn(...args);
  };
  return () => {
    console.info = info;
    console.warn = warn;
  };
}
