import { Agent } from 'node:https';
import pino from 'pino';
import { DEFAULT_CONNECTION_CONFIG } from '@whiskeysockets/baileys';
import { createBaileysConnector } from '../../src/whatsapp/baileys-connector.js';
import { installStrictSignatureVerification, trustNoiseRoot } from '../../src/whatsapp/trust.js';
import { installFastSignatures } from '../../src/whatsapp/curve-sign.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import type { ProxyPolicy } from '../../src/util/proxy-url.js';

/**
 * An emulator, trusted the way the daemon trusts it (WA_TRUST_ROOT_PUBLIC_KEY), with rc14's
 * lenient `Curve.verify` replaced by the strict one the daemon installs at start: so a test that
 * connects proves the trust override works, not the library bug. `Curve.sign` is the daemon's too:
 * the emulator checks every device signature with libsignal, so a linking test proves it.
 */
export async function trustedEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  installStrictSignatureVerification();
  installFastSignatures();
  const emulator = await startEmulator({ skipPrekeyUpload: true, ...opts });
  trustNoiseRoot(emulator.rootPublicKey);
  return emulator;
}

export function baileysConnector(emulator: Emulator, qrTimeoutMs?: number, extra: { proxyPolicy?: ProxyPolicy } = {}): WhatsAppConnector {
  return createBaileysConnector({
    websocketUrl: emulator.url,
    version: DEFAULT_CONNECTION_CONFIG.version,
    qrTimeoutMs,
    logger: pino({ level: process.env.BAILEYS_TEST_LOG_LEVEL ?? 'silent' }),
    // the emulator's media host: its host is allowed (as WA_WEBSOCKET_URL's is) and its self-signed CA trusted
    // (`ca`: the same trust through a number's proxy)
    media: { extraHosts: [new URL(emulator.url).hostname], agent: new Agent({ ca: emulator.mediaCa }), ca: emulator.mediaCa },
    // where a number's own proxy may be (PROXY_ALLOWED_HOSTS); default: public addresses only
    ...extra,
  });
}
