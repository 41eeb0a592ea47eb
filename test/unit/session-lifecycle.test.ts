import { jest } from '@jest/globals';
import type { SessionCommand } from '../../src/commands/command.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionDeps } from '../../src/sessions/session.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';
import { within } from '../helpers/wait.js';

const SID = 'session_6_+221771234567';
const cmd = (action: SessionCommand['action'], extra: Partial<SessionCommand> = {}): SessionCommand => ({
  action,
  numberId: 6,
  phoneNumber: '+221771234567',
  sessionId: SID,
  workerId: 'w1',
  requestId: `req-${action}`,
  backendSessionId: undefined,
  issuedAt: undefined,
  ...extra,
});

function setup(opts: { maxSessions?: number; maxConflicts?: number; pairingCodeMinIntervalMs?: number } = {}) {
  const connector = new FakeConnector();
  const store = new MemorySessionStore();
  const events = new RecordingEvents('w1');
  const deps: SessionDeps = {
    workerId: 'w1',
    connector,
    store,
    events,
    logger: silentLogger,
    renderQr: async (qr) => `data:image/png;base64,${Buffer.from(qr).toString('base64')}`,
    policy: {
      reconnectBaseDelayMs: 5,
      reconnectMaxDelayMs: 20,
      maxConflicts: opts.maxConflicts ?? 3,
      conflictWindowMs: 60_000,
      qrTimeoutMs: undefined,
      pairingReadyTimeoutMs: 1000,
      pairingCodeMinIntervalMs: opts.pairingCodeMinIntervalMs,
    },
  };
  const manager = new SessionManager(deps, { maxSessions: opts.maxSessions ?? 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  return { connector, store, events, manager };
}

describe('session lifecycle', () => {
  it('create → qr_generated (PNG data URL, attempt, expiry) → open → connected + HEALTHY, with the requestId echoed', async () => {
    const { connector, events, manager, store } = setup();
    await manager.execute(cmd('create'));
    const socket = connector.latest(SID)!;
    socket.qr('2@ref1,abc');
    socket.qr('2@ref2,abc');
    await events.until(() => events.actions().filter((a) => a === 'qr_generated').length === 2);
    const [first, second] = events.sessionEvents as Array<{ qrString: string; qrCode: string; attempt: number; expiresAt: number; requestId?: string }>;
    expect(first).toMatchObject({ qrString: '2@ref1,abc', attempt: 1, requestId: 'req-create' });
    expect(first!.qrCode.startsWith('data:image/png;base64,')).toBe(true);
    expect(second).toMatchObject({ attempt: 2 });
    expect(first!.expiresAt - Date.now()).toBeGreaterThan(50_000);
    expect(second!.expiresAt - Date.now()).toBeLessThanOrEqual(20_000);

    socket.open('221771234567');
    await events.until(() => events.statuses().includes('HEALTHY'));
    expect(events.actions()).toEqual(['qr_generated', 'qr_generated', 'connected']);
    expect(events.sessionEvents[2]).toMatchObject({
      phoneNumber: '221771234567',
      jid: '221771234567:1@s.whatsapp.net',
      numberId: 6,
      sessionId: SID,
      workerId: 'w1',
    });
    expect(manager.get(SID)!.status).toBe('connected');
    await events.until(() => store.metas.get(SID)?.jid !== undefined);
    expect(store.metas.get(SID)).toMatchObject({ workerId: 'w1', numberId: 6, phoneNumber: '+221771234567' });
  });

  it('a second create on a live session opens no second socket and re-publishes the latest QR, then connected', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create'));
    connector.latest(SID)!.qr('2@only,qr');
    await events.until(() => events.actions().length === 1);
    await manager.execute(cmd('create', { requestId: 'again' }));
    expect(connector.sockets).toHaveLength(1);
    expect(events.sessionEvents[1]).toMatchObject({ action: 'qr_generated', qrString: '2@only,qr', requestId: 'again' });

    connector.latest(SID)!.open();
    await events.until(() => events.actions().includes('connected'));
    await manager.execute(cmd('create', { requestId: 'third' }));
    expect(connector.sockets).toHaveLength(1);
    expect(events.sessionEvents.at(-1)).toMatchObject({ action: 'connected', requestId: 'third' });
  });

  it('515 after pairing reconnects silently with a new socket', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create'));
    const first = connector.latest(SID)!;
    first.qr('2@q');
    const next = connector.nextSocket();
    first.close(515, 'restart required');
    const second = await next;
    second.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    expect(events.actions()).toEqual(['qr_generated', 'connected']);
    expect(events.statuses()).toEqual(['HEALTHY']);
  });

  it('a dropped socket → disconnected(willReconnect) + RECONNECTING → backoff → HEALTHY again', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    const next = connector.nextSocket();
    connector.latest(SID)!.close(428, 'Connection Closed');
    const again = await next;
    again.open();
    await events.until(() => events.statuses().length === 3);
    expect(events.statuses()).toEqual(['HEALTHY', 'RECONNECTING', 'HEALTHY']);
    expect(events.sessionEvents.find((e) => e.action === 'disconnected')).toMatchObject({ statusCode: 428, willReconnect: true });
  });

  it('logged out from the phone (401) → logged_out + LOGGED_OUT, credentials removed, no reconnect', async () => {
    const { connector, events, manager, store } = setup();
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    connector.latest(SID)!.close(401, 'logged out');
    await events.until(() => events.statuses().includes('LOGGED_OUT'));
    expect(events.actions()).toContain('logged_out');
    expect(store.calls).toContain(`removeAuth:${SID}`);
    expect(store.creds.has(SID)).toBe(false);
    expect(connector.sockets).toHaveLength(1);
    expect(manager.get(SID)!.status).toBe('logged_out');
  });

  it('repeated 440 conflicts give up after maxConflicts instead of a reconnect storm', async () => {
    const { connector, events, manager } = setup({ maxConflicts: 2 });
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    const next = connector.nextSocket();
    connector.latest(SID)!.close(440, 'replaced');
    (await next).close(440, 'replaced');
    await events.until(() => events.statuses().includes('DISCONNECTED'));
    expect(connector.sockets).toHaveLength(2);
    expect(events.sessionEvents.at(-1)).toMatchObject({ action: 'disconnected', willReconnect: false, statusCode: 440 });
    expect(manager.get(SID)!.status).toBe('stopped');
  });

  it('403 → BANNED and no reconnect', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    connector.latest(SID)!.close(403, 'forbidden');
    await events.until(() => events.statuses().includes('BANNED'));
    expect(manager.get(SID)!.status).toBe('banned');
    expect(connector.sockets).toHaveLength(1);
  });

  it('QR refs running out (408 before linking) → qr_expired, and the session waits for a new create', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create'));
    connector.latest(SID)!.qr('2@a');
    connector.latest(SID)!.close(408, 'QR refs attempts ended');
    await events.until(() => events.actions().includes('qr_expired'));
    expect(manager.get(SID)!.status).toBe('stopped');
    await manager.execute(cmd('create'));
    expect(connector.sockets).toHaveLength(2);
  });

  it('disconnect closes the socket but keeps the credentials; logout drops them; delete removes everything', async () => {
    const { connector, events, manager, store } = setup();
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));

    await manager.execute(cmd('disconnect'));
    expect(connector.latest(SID)!.ended).toBe(true);
    expect(store.creds.has(SID)).toBe(true);
    expect(events.sessionEvents.at(-1)).toMatchObject({ action: 'disconnected', willReconnect: false, requestId: 'req-disconnect' });

    await manager.execute(cmd('reconnect'));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().filter((s) => s === 'HEALTHY').length === 2);

    await manager.execute(cmd('logout'));
    expect(connector.sockets[1]!.loggedOut).toBe(true);
    expect(store.creds.has(SID)).toBe(false);
    expect(store.metas.has(SID)).toBe(true);
    expect(events.statuses().at(-1)).toBe('LOGGED_OUT');

    await manager.execute(cmd('delete'));
    expect(store.metas.has(SID)).toBe(false);
    expect(events.actions().at(-1)).toBe('session_deleted');
    expect(manager.get(SID)).toBeUndefined();
  });

  it('status publishes the current state; commands for unknown sessions are rejected', async () => {
    const { connector, events, manager } = setup();
    await expect(manager.execute(cmd('status', { numberId: 99, sessionId: undefined, phoneNumber: undefined }))).rejects.toMatchObject({
      code: 'UNKNOWN_SESSION',
    });
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => events.actions().includes('connected'));
    await manager.execute(cmd('status', { sessionId: undefined, phoneNumber: undefined }));
    expect(events.sessionEvents.at(-1)).toMatchObject({ action: 'session_status', status: 'connected', requestId: 'req-status' });
  });

  it('enforces WORKER_MAX_SESSIONS: a create beyond it is rejected and opens nothing', async () => {
    const { connector, manager } = setup({ maxSessions: 1 });
    await manager.execute(cmd('create'));
    await expect(manager.execute(cmd('create', { numberId: 7, sessionId: 'session_7_+221770000007', phoneNumber: '+221770000007' }))).rejects.toMatchObject({
      code: 'CAPACITY',
    });
    expect(connector.sockets).toHaveLength(1);
  });

  it('creates refused for capacity leave nothing behind: the session map does not grow with every distinct create', async () => {
    const { manager } = setup({ maxSessions: 1 });
    await manager.execute(cmd('create'));
    for (let n = 100; n < 110; n++) {
      await expect(
        manager.execute(cmd('create', { numberId: n, sessionId: `session_${n}_+2217700001${n}`, phoneNumber: `+2217700001${n}` })),
      ).rejects.toMatchObject({ code: 'CAPACITY' });
    }
    expect(manager.list().map((s) => s.id)).toEqual([SID]);
  });

  it("a command naming only the numberId reads the metadata of that number's sessions, not of every session", async () => {
    const { store, manager } = setup();
    for (let n = 1; n <= 20; n++)
      await store.saveMeta({
        sessionId: `session_${n}_+22177000${1000 + n}`,
        numberId: n,
        phoneNumber: `+22177000${1000 + n}`,
        workerId: 'w1',
        createdAt: 1,
        updatedAt: 1,
      });
    const loaded: string[] = [];
    const load = store.loadMeta.bind(store);
    store.loadMeta = async (id: string) => {
      loaded.push(id);
      return load(id);
    };
    await manager.execute(cmd('status', { numberId: 7, sessionId: undefined, phoneNumber: undefined }));
    expect(loaded).toEqual(['session_7_+221770001007']);
    expect(store.calls).not.toContain('listMeta');
  });

  it('pairing codes are paced: a repeat within the window re-publishes the code on the phone; another request once it was dropped is RATE_LIMITED', async () => {
    const { connector, events, manager } = setup({ pairingCodeMinIntervalMs: 60_000 });
    connector.onConnect = (s) => s.qr('2@first');
    await manager.execute(cmd('request_pairing_code'));
    await manager.execute(cmd('request_pairing_code', { requestId: 'again' }));
    expect(connector.latest(SID)!.pairingRequests).toHaveLength(1);
    expect(events.sessionEvents.filter((e) => e.action === 'pairing_code_generated').map((e) => e.requestId)).toEqual(['req-request_pairing_code', 'again']);
    await manager.execute(cmd('disconnect'));
    await expect(manager.execute(cmd('request_pairing_code', { requestId: 'third' }))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(connector.sockets.flatMap((s) => s.pairingRequests)).toHaveLength(1);
  });

  it('concurrent creates for different numbers never exceed WORKER_MAX_SESSIONS, even while storage is slow', async () => {
    const { connector, store, manager } = setup({ maxSessions: 1 });
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const open = store.openAuthState.bind(store);
    store.openAuthState = async (id: string) => {
      await slow;
      return open(id);
    };
    const first = manager.execute(cmd('create'));
    const second = manager.execute(cmd('create', { numberId: 7, sessionId: 'session_7_+221770000007', phoneNumber: '+221770000007' }));
    await expect(second).rejects.toMatchObject({ code: 'CAPACITY' });
    release();
    await first;
    expect(connector.sockets.map((s) => s.sessionId)).toEqual([SID]);
  });

  it('request_pairing_code waits for registration, then publishes the code and stops publishing QRs', async () => {
    const { connector, events, manager } = setup();
    connector.onConnect = (s) => s.qr('2@first');
    await manager.execute(cmd('request_pairing_code'));
    const socket = connector.latest(SID)!;
    expect(socket.pairingRequests).toEqual(['221771234567']);
    expect(events.sessionEvents.find((e) => e.action === 'pairing_code_generated')).toMatchObject({ pairingCode: 'ABCD1234' });
    const before = events.actions().filter((a) => a === 'qr_generated').length;
    socket.qr('2@second');
    socket.open();
    await events.until(() => events.actions().includes('connected'));
    expect(events.actions().filter((a) => a === 'qr_generated').length).toBe(before);
  });

  it('commands of one session apply in order; different sessions proceed in parallel', async () => {
    const { connector, manager } = setup();
    const order: string[] = [];
    const original = connector.connect.bind(connector);
    jest.spyOn(connector, 'connect').mockImplementation((p) => {
      order.push(`connect:${p.sessionId}`);
      return original(p);
    });
    await Promise.all([manager.execute(cmd('create')), manager.execute(cmd('disconnect')), manager.execute(cmd('reconnect'))]);
    expect(order).toEqual([`connect:${SID}`, `connect:${SID}`]);
    expect(connector.sockets[0]!.ended).toBe(true);
    expect(manager.get(SID)!.status).toBe('starting');

    // Parallel: a create for another number completes while this number's create is stuck.
    const OTHER = 'session_7_+221770000007';
    const { connector: c2, store, manager: m2 } = setup();
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const open = store.openAuthState.bind(store);
    store.openAuthState = async (id: string) => {
      if (id === SID) await stuck;
      return open(id);
    };
    const first = m2.execute(cmd('create'));
    try {
      await within(
        m2.execute(cmd('create', { numberId: 7, sessionId: OTHER, phoneNumber: '+221770000007' })),
        5000,
        "the other number's create while the first is stuck (commands of different sessions must not queue behind each other)",
      );
      expect(c2.sockets.map((s) => s.sessionId)).toEqual([OTHER]);
    } finally {
      release();
    }
    await first;
    expect(c2.sockets.map((s) => s.sessionId)).toEqual([OTHER, SID]);
  });

  it('after a new link, connected waits for the credentials to be flushed; after a restore it does not wait', async () => {
    const { connector, events, manager, store } = setup();
    let release!: () => void;
    store.flushGate = new Promise<void>((resolve) => (release = resolve));
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => store.calls.includes(`flush:${SID}`));
    expect(events.actions()).not.toContain('connected');
    release();
    await events.until(() => events.actions().includes('connected'));
    await manager.shutdown();

    const fresh = setup();
    Object.assign(fresh.store, { creds: store.creds, keys: store.keys, metas: store.metas });
    fresh.store.flushGate = new Promise<void>(() => undefined); // storage hangs
    fresh.connector.onConnect = (s) => s.open();
    await fresh.manager.restore();
    await fresh.events.until(() => fresh.events.actions().includes('connected'));
    expect(fresh.store.calls).not.toContain(`flush:${SID}`);
  });

  it('restore reconnects only linked sessions owned by this worker, without a QR', async () => {
    const { connector, events, manager, store } = setup();
    // A linked session of ours, an unlinked one of ours, and a linked one of another worker.
    await manager.execute(cmd('create'));
    connector.latest(SID)!.open();
    await events.until(() => events.actions().includes('connected'));
    await manager.shutdown();
    await store.saveMeta({ sessionId: 'session_7_+221770000007', numberId: 7, phoneNumber: '+221770000007', workerId: 'w1', createdAt: 1, updatedAt: 1 });
    await store.saveMeta({ sessionId: 'session_8_+221770000008', numberId: 8, phoneNumber: '+221770000008', workerId: 'other', createdAt: 1, updatedAt: 1 });

    const fresh = setup();
    Object.assign(fresh.store, { creds: store.creds, keys: store.keys, metas: store.metas });
    fresh.connector.onConnect = (s) => s.open();
    const result = await fresh.manager.restore();
    expect(result).toEqual({ restored: 1, skipped: 1 });
    await fresh.events.until(() => fresh.events.statuses().includes('HEALTHY'));
    expect(fresh.connector.sockets.map((s) => s.sessionId)).toEqual([SID]);
    expect(fresh.events.actions()).toEqual(['connected']);
  });
});

/** Which requestId each event carried, in order (the rule is documented on `Session`). */
function trail(events: RecordingEvents) {
  return {
    session: events.sessionEvents.map((e) => [e.action, e.requestId]),
    health: events.healthEvents.map((e) => [e.status, e.requestId]),
  };
}

describe('which requestId an event carries', () => {
  it('create r1: its QRs and connected carry r1; a later drop, its reconnect and the new connected carry none', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    const first = connector.latest(SID)!;
    first.qr('2@a');
    first.qr('2@b');
    first.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    const next = connector.nextSocket();
    first.close(428, 'Connection Closed');
    (await next).open();
    await events.until(() => events.statuses().length === 3);
    expect(trail(events)).toEqual({
      session: [
        ['qr_generated', 'r1'],
        ['qr_generated', 'r1'],
        ['connected', 'r1'],
        ['disconnected', undefined],
        ['connected', undefined],
      ],
      health: [
        ['HEALTHY', 'r1'],
        ['RECONNECTING', undefined],
        ['HEALTHY', undefined],
      ],
    });
  });

  it('status r2 answers with r2 and leaks into nothing that follows', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    await manager.execute(cmd('status', { requestId: 'r2' }));
    const next = connector.nextSocket();
    connector.latest(SID)!.close(428, 'Connection Closed');
    (await next).open();
    await events.until(() => events.statuses().length === 3);
    expect(trail(events).session).toEqual([
      ['connected', 'r1'],
      ['session_status', 'r2'],
      ['disconnected', undefined],
      ['connected', undefined],
    ]);
  });

  it('a logout from the phone long after the create carries no requestId', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    connector.latest(SID)!.close(401, 'logged out');
    await events.until(() => events.statuses().includes('LOGGED_OUT'));
    expect(trail(events)).toEqual({
      session: [
        ['connected', 'r1'],
        ['logged_out', undefined],
      ],
      health: [
        ['HEALTHY', 'r1'],
        ['LOGGED_OUT', undefined],
      ],
    });
  });

  it('a command without requestId answers with none, even right after one with', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    await manager.execute(cmd('disconnect', { requestId: 'r2' }));
    await manager.execute(cmd('reconnect', { requestId: undefined }));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().filter((s) => s === 'HEALTHY').length === 2);
    expect(trail(events)).toEqual({
      session: [
        ['connected', 'r1'],
        ['disconnected', 'r2'],
        ['connected', undefined],
      ],
      health: [
        ['HEALTHY', 'r1'],
        ['DISCONNECTED', 'r2'],
        ['HEALTHY', undefined],
      ],
    });
  });

  it('the linking attempt goes on across a 515 restart and a retry before the first open: all of it answers the create', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    const first = connector.latest(SID)!;
    first.qr('2@a');
    let next = connector.nextSocket();
    first.close(428, 'Connection Closed');
    const second = await next;
    second.qr('2@b');
    next = connector.nextSocket();
    second.close(515, 'restart required');
    (await next).open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    expect(trail(events)).toEqual({
      session: [
        ['qr_generated', 'r1'],
        ['disconnected', 'r1'],
        ['qr_generated', 'r1'],
        ['connected', 'r1'],
      ],
      health: [
        ['RECONNECTING', 'r1'],
        ['HEALTHY', 'r1'],
      ],
    });
  });

  it('a create during the linking attempt joins it: the QRs and connected that follow answer the newest create', async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    const socket = connector.latest(SID)!;
    socket.qr('2@a');
    await events.until(() => events.actions().length === 1);
    await manager.execute(cmd('create', { requestId: 'r2' }));
    socket.qr('2@b');
    socket.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    expect(trail(events).session).toEqual([
      ['qr_generated', 'r1'],
      ['qr_generated', 'r2'],
      ['qr_generated', 'r2'],
      ['connected', 'r2'],
    ]);
  });

  it("QR expiry ends the attempt with the create's requestId; the next create starts its own", async () => {
    const { connector, events, manager } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    connector.latest(SID)!.qr('2@a');
    connector.latest(SID)!.close(408, 'QR refs attempts ended');
    await events.until(() => events.actions().includes('qr_expired'));
    await manager.execute(cmd('create', { requestId: 'r3' }));
    connector.latest(SID)!.qr('2@c');
    await events.until(() => events.actions().length === 3);
    expect(trail(events)).toEqual({
      session: [
        ['qr_generated', 'r1'],
        ['qr_expired', 'r1'],
        ['qr_generated', 'r3'],
      ],
      health: [['DISCONNECTED', 'r1']],
    });
  });

  it('request_pairing_code: the QR that offers registration, the code and the connected that follows carry its requestId', async () => {
    const { connector, events, manager } = setup();
    connector.onConnect = (s) => s.qr('2@first');
    await manager.execute(cmd('request_pairing_code', { requestId: 'p1' }));
    connector.latest(SID)!.open();
    await events.until(() => events.statuses().includes('HEALTHY'));
    expect(trail(events)).toEqual({
      session: [
        ['qr_generated', 'p1'],
        ['pairing_code_generated', 'p1'],
        ['connected', 'p1'],
      ],
      health: [['HEALTHY', 'p1']],
    });
  });

  it('after a restore, nothing carries a requestId', async () => {
    const { connector, events, manager, store } = setup();
    await manager.execute(cmd('create', { requestId: 'r1' }));
    connector.latest(SID)!.open();
    await events.until(() => events.actions().includes('connected'));
    await manager.shutdown();

    const fresh = setup();
    Object.assign(fresh.store, { creds: store.creds, keys: store.keys, metas: store.metas });
    fresh.connector.onConnect = (s) => s.open();
    await fresh.manager.restore();
    await fresh.events.until(() => fresh.events.statuses().includes('HEALTHY'));
    const next = fresh.connector.nextSocket();
    fresh.connector.latest(SID)!.close(428, 'Connection Closed');
    await next;
    await fresh.events.until(() => fresh.events.statuses().length === 3);
    expect(trail(fresh.events)).toEqual({
      session: [
        ['connected', undefined],
        ['disconnected', undefined],
        ['connected', undefined],
      ],
      health: [
        ['HEALTHY', undefined],
        ['RECONNECTING', undefined],
        ['HEALTHY', undefined],
      ],
    });
  });
});
