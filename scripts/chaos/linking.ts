import { randomBytes } from 'node:crypto';
import type { EmulatorServer } from '../../test/emulator/index.js';
import type { Backend, Observed } from './backend.js';
import type { ChaosNumber, Command, Load } from './load.js';

/** The backend's `create`, exactly as it sends it today (no requestId; its own session id in `data`). */
export function createBody(n: ChaosNumber, workerId: string): Record<string, unknown> {
  return {
    sessionId: n.numberId,
    action: 'create',
    data: { numberId: n.numberId, phoneNumber: n.phone, sessionId: `session_${n.numberId}_${randomBytes(4).toString('hex')}`, workerId },
    timestamp: Date.now(),
  };
}

/**
 * Links one number: `create`, then the emulated phone scans the QR of the first qr_generated
 * (the raw string is in the event's `qrString`; the PNG carries the same), trying the next QR if
 * a scan fails (its socket went away), until `connected`.
 */
export async function linkNumber(
  n: ChaosNumber,
  deps: { backend: Backend; emu: EmulatorServer; load: Load; workerId: string },
  timeoutMs: number,
): Promise<void> {
  const { backend, emu, load } = deps;
  const since = Date.now();
  const command: Command = { requestId: `create-${n.numberId}`, action: 'create', number: n, publishedAt: since, accepted: false };
  const ofMine = (kind: string) => (e: Observed) => e.kind === kind && e.sessionId === n.sessionId && e.timestamp >= since - 1000;
  const connected = backend.waitForEvent(ofMine('connected'), timeoutMs, `connected for ${n.phone}`);
  connected.catch(() => undefined);
  await load.publish(command, createBody(n, deps.workerId));
  if (!command.accepted) throw new Error(`create for ${n.phone} not confirmed by the broker: ${command.error}`);
  const tried = new Set<string | undefined>();
  let linked = false;
  while (!linked) {
    const qr = await Promise.race([
      backend.waitForEvent((e) => ofMine('qr_generated')(e) && !tried.has(e.eventId), timeoutMs, `a QR for ${n.phone}`),
      connected.then(() => undefined),
    ]);
    if (!qr) break;
    tried.add(qr.eventId);
    linked = await emu.scanQr(String(qr.body.qrString), { phoneNumber: n.phone }).then(
      () => true,
      () => false,
    );
  }
  await connected;
}
