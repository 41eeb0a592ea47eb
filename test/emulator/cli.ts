/**
 * Standalone emulator: `npm run emulator` (tsx test/emulator/cli.ts).
 *   EMULATOR_PORT (default 8765)          WebSocket port, URL ws://127.0.0.1:PORT/ws/chat
 *   EMULATOR_CONTROL_PORT (default 8766)  JSON control API (see control-http.ts)
 *   EMULATOR_QR_REFS, EMULATOR_SKIP_PREKEY_UPLOAD=1, EMULATOR_RESPONSE_DELAY_MS, EMULATOR_ROOT_PRIVATE_HEX (32-byte key,
 *   for a stable root across restarts), EMULATOR_MEDIA_CA_FILE (where the media host's certificate is written), EMULATOR_DEBUG=1
 * Prints the URL, the control URL and the root public key hex (clients must trust it:
 * `WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(hex, 'hex')`).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as curve from 'libsignal/src/curve.js';
import { startControlServer } from './control-http.js';
import { startEmulator } from './server.js';
import type { EmulatorOptions } from './types.js';

async function main(): Promise<void> {
  const env = process.env;
  const opts: EmulatorOptions = {
    port: Number(env.EMULATOR_PORT ?? 8765),
    skipPrekeyUpload: env.EMULATOR_SKIP_PREKEY_UPLOAD === '1',
  };
  if (env.EMULATOR_QR_REFS) opts.qrRefs = Number(env.EMULATOR_QR_REFS);
  if (env.EMULATOR_RESPONSE_DELAY_MS) opts.responseDelayMs = Number(env.EMULATOR_RESPONSE_DELAY_MS);
  if (env.EMULATOR_ROOT_PRIVATE_HEX) {
    const priv = Buffer.from(env.EMULATOR_ROOT_PRIVATE_HEX, 'hex');
    // present at run time in libsignal's curve.js, missing from its typings
    const fromPrivate = (curve as typeof curve & { getPublicFromPrivateKey: (k: Uint8Array) => Uint8Array }).getPublicFromPrivateKey;
    opts.rootKeyPair = { private: priv, public: Buffer.from(fromPrivate(priv)).subarray(1) };
  }
  const emu = await startEmulator(opts);
  const control = await startControlServer(emu, { port: Number(env.EMULATOR_CONTROL_PORT ?? 8766) });
  // the media host's self-signed certificate, for NODE_EXTRA_CA_CERTS of whatever talks to it
  const mediaCaFile = env.EMULATOR_MEDIA_CA_FILE ?? join(tmpdir(), `wa-emulator-media-ca-${process.pid}.pem`);
  writeFileSync(mediaCaFile, emu.mediaCa);
  console.log(JSON.stringify({ url: emu.url, controlUrl: control.url, rootPublicKeyHex: emu.rootPublicKeyHex, mediaCaFile }));
  const stop = (): void => {
    void Promise.all([emu.close(), control.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
