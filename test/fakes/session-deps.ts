import type { SessionDeps } from '../../src/sessions/session-deps.js';
import { MemorySessionStore } from './memory-session-store.js';
import { OpeningGate } from '../../src/sessions/opening-gate.js';
import { silentLogger } from '../helpers/silent-logger.js';

/** Fast reconnects, no QR timeout: what the session unit tests run with. */
export const TEST_SESSION_POLICY: SessionDeps['policy'] = {
  reconnectBaseDelayMs: 5,
  reconnectMaxDelayMs: 20,
  maxConflicts: 3,
  conflictWindowMs: 60_000,
  qrTimeoutMs: undefined,
  pairingReadyTimeoutMs: 1000,
};

/** The deps of a unit-tested session: worker 'w1', in-memory store, silent logger, QR as a fake data URL, the default opening gate (32); the rest given. */
export function testSessionDeps(parts: Pick<SessionDeps, 'connector' | 'events' | 'messaging'> & Partial<SessionDeps>): SessionDeps {
  return {
    workerId: 'w1',
    store: new MemorySessionStore(),
    logger: silentLogger,
    renderQr: async (qr) => `data:image/png;base64,${Buffer.from(qr).toString('base64')}`,
    policy: TEST_SESSION_POLICY,
    openingGate: new OpeningGate({ max: 32 }),
    ...parts,
  };
}
