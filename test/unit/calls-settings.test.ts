import { Writable } from 'node:stream';
import pino from 'pino';
import { proto, type WACallEvent } from '@whiskeysockets/baileys';
import type { RejectCallCommand, SessionCommand, UpdateSettingsCommand } from '../../src/commands/command.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionDeps } from '../../src/sessions/session.js';
import {
  DEFAULT_SESSION_SETTINGS,
  effectiveSettings,
  storedSettings,
  type SessionSettings,
  type SessionSettingsPatch,
} from '../../src/util/session-settings.js';
import { toIncomingCall } from '../../src/whatsapp/baileys-calls.js';
import { historySyncConfig } from '../../src/whatsapp/baileys-history-sync.js';
import type { IncomingCall, IncomingMessage } from '../../src/whatsapp/types.js';
import { loadConfig } from '../../src/config/config.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { waitFor } from '../helpers/wait.js';

const SID = 'session_6_+221771234567';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const create = (settings?: SessionSettingsPatch): SessionCommand => ({ ...base, action: 'create', requestId: 'req-create', ...(settings ? { settings } : {}) });
const update = (requestId: string, settings: SessionSettingsPatch, numberId = 6): UpdateSettingsCommand => ({
  ...base,
  numberId,
  sessionId: numberId === 6 ? SID : undefined,
  action: 'update_settings',
  requestId,
  settings,
});
const rejectCall = (requestId: string, callId: string, from: string): RejectCallCommand => ({ ...base, action: 'reject_call', requestId, callId, from });

const CALLER_LID = '111111111111111@lid';
const CALLER_PN = '221770000001@s.whatsapp.net';
const offer = (id: string, extra: Partial<IncomingCall> = {}): IncomingCall => ({
  id,
  status: 'offer',
  from: { lid: CALLER_LID, pn: CALLER_PN },
  callerJid: CALLER_LID,
  isVideo: false,
  isGroup: false,
  at: 1_733_396_400_000,
  offline: false,
  ...extra,
});
const incoming = (id: string): Omit<IncomingMessage, 'acknowledge'> => ({
  id,
  chat: CALLER_LID,
  isGroup: false,
  from: { lid: CALLER_LID, pn: CALLER_PN },
  sentAt: 1_733_396_400_000,
  type: 'text',
  text: `text of ${id}`,
});

/** A logger whose warnings a test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  return { logger, lines };
}

function setup(opts: { store?: MemorySessionStore; defaults?: SessionSettings } = {}) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const store = opts.store ?? new MemorySessionStore();
  const { logger, lines } = capturingLogger();
  const deps: SessionDeps = {
    workerId: 'w1',
    connector,
    store,
    events,
    logger,
    renderQr: async (qr) => `data:image/png;base64,${Buffer.from(qr).toString('base64')}`,
    policy: {
      reconnectBaseDelayMs: 5,
      reconnectMaxDelayMs: 20,
      maxConflicts: 3,
      conflictWindowMs: 60_000,
      qrTimeoutMs: undefined,
      pairingReadyTimeoutMs: 1000,
    },
    messaging: { sendWaitForOpenMs: 300, mediaMaxBytes: 1024 },
    ...(opts.defaults ? { settingsDefaults: opts.defaults } : {}),
  };
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  return { connector, events, store, manager, lines };
}

async function connected(settings?: SessionSettingsPatch, opts: Parameters<typeof setup>[0] = {}) {
  const s = setup(opts);
  await s.manager.execute(create(settings));
  const socket = s.connector.latest(SID)!;
  socket.open('221771234567');
  await s.events.until(() => s.events.actions().includes('connected'));
  return { ...s, socket };
}

describe('settings: defaults, create, storage, restart', () => {
  it('create stores the settings with the session before the socket opens, which is configured with them', async () => {
    const { store, connector } = await connected({ rejectCalls: true, rejectCallMessage: 'Please write', historySync: 'none' });
    expect(store.metas.get(SID)?.settings).toEqual({ rejectCalls: true, rejectCallMessage: 'Please write', historySync: 'none' });
    expect(store.metas.get(SID)?.workerId).toBe('w1');
    expect(connector.latest(SID)!.settings).toEqual({ ...DEFAULT_SESSION_SETTINGS, rejectCalls: true, rejectCallMessage: 'Please write', historySync: 'none' });
  });

  it('a number without settings of its own follows the worker defaults (SESSION_*), and stores nothing', async () => {
    const defaults: SessionSettings = { rejectCalls: true, autoRead: true, alwaysOnline: false, historySync: 'full' };
    const { store, connector } = await connected(undefined, { defaults });
    expect(store.metas.get(SID)?.settings).toBeUndefined();
    expect(connector.latest(SID)!.settings).toEqual(defaults);
  });

  it('survive a restart: a new manager over the same store restores the session with them, and a later claim keeps them', async () => {
    const store = new MemorySessionStore();
    const first = await connected({ autoRead: true, rejectCalls: true }, { store });
    await first.manager.shutdown();

    const second = setup({ store });
    await second.manager.restore();
    const socket = second.connector.latest(SID)!;
    expect(socket.settings).toMatchObject({ autoRead: true, rejectCalls: true });
    socket.open('221771234567');
    await second.events.until(() => second.events.actions().includes('connected'));
    // The link wrote the record again (the JID): the settings went with it.
    expect(store.metas.get(SID)).toMatchObject({ jid: '221771234567:1@s.whatsapp.net', settings: { autoRead: true, rejectCalls: true } });
    socket.calls([offer('CALL1')]);
    await waitFor(() => second.events.messages('call_received').length === 1, 'call_received');
    expect(socket.callRejects).toEqual([{ callId: 'CALL1', callerJid: CALLER_LID }]);
  });

  it('update_settings stores the change, answers settings_updated with the settings in force; null puts a field back to the default', async () => {
    const defaults: SessionSettings = { ...DEFAULT_SESSION_SETTINGS, rejectCallMessage: 'Default text' };
    const { manager, store, events } = await connected({ rejectCallMessage: 'Own text', historySync: 'full' }, { defaults });
    await manager.execute(update('u-1', { autoRead: true, rejectCallMessage: null }));
    expect(store.metas.get(SID)?.settings).toEqual({ historySync: 'full', autoRead: true });
    expect(events.messages('settings_updated')).toEqual([
      expect.objectContaining({ requestId: 'u-1', sessionId: SID, settings: { ...defaults, autoRead: true, historySync: 'full' } }),
    ]);
  });

  it('update_settings on a session only stored (not running here) changes storage; on an unknown one: settings_update_failed UNKNOWN_SESSION', async () => {
    const store = new MemorySessionStore();
    const first = await connected(undefined, { store });
    await first.manager.shutdown();
    const second = setup({ store });
    await second.manager.execute(update('u-2', { alwaysOnline: true }));
    expect(store.metas.get(SID)?.settings).toEqual({ alwaysOnline: true });
    expect(second.events.messages('settings_updated')).toHaveLength(1);
    expect(second.connector.sockets).toHaveLength(0);

    await second.manager.execute(update('u-3', { autoRead: true }, 99));
    expect(second.events.messages('settings_update_failed')).toEqual([expect.objectContaining({ requestId: 'u-3', code: 'UNKNOWN_SESSION' })]);
  });

  it('what storage holds is checked: fields of the wrong type or out of bounds fall back to the defaults', () => {
    expect(
      storedSettings({ rejectCalls: 'yes', autoRead: true, rejectCallMessage: 'x'.repeat(1001), historySync: 'all', alwaysOnline: false, extra: 1 }),
    ).toEqual({
      autoRead: true,
      alwaysOnline: false,
    });
    expect(storedSettings('nonsense')).toBeUndefined();
    expect(effectiveSettings(DEFAULT_SESSION_SETTINGS, { historySync: null, autoRead: true })).toEqual({ ...DEFAULT_SESSION_SETTINGS, autoRead: true });
  });

  it('the defaults come from SESSION_* variables', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).sessionDefaults).toEqual(DEFAULT_SESSION_SETTINGS);
    const config = loadConfig({
      NODE_ENV: 'test',
      SESSION_REJECT_CALLS: 'true',
      SESSION_REJECT_CALL_MESSAGE: 'Write to us',
      SESSION_AUTO_READ: '1',
      SESSION_ALWAYS_ONLINE: 'yes',
      SESSION_HISTORY_SYNC: 'none',
    });
    expect(config.sessionDefaults).toEqual({ rejectCalls: true, rejectCallMessage: 'Write to us', autoRead: true, alwaysOnline: true, historySync: 'none' });
    expect(() => loadConfig({ NODE_ENV: 'test', SESSION_HISTORY_SYNC: 'all' })).toThrow(/SESSION_HISTORY_SYNC/);
  });
});

describe('incoming calls', () => {
  it('rejectCalls off: call_received once per call id (autoRejected false), nothing rejected; its end: call_ended once', async () => {
    const { socket, events } = await connected();
    socket.calls([offer('CALL1', { isVideo: true }), offer('CALL1')]);
    socket.calls([offer('CALL1'), { ...offer('CALL1'), status: 'timeout' }, { ...offer('CALL1'), status: 'terminate' }]);
    await waitFor(() => events.messages('call_ended').length === 1, 'call_ended');
    expect(events.messages('call_received')).toEqual([
      expect.objectContaining({
        callId: 'CALL1',
        from: { lid: CALLER_LID, pn: CALLER_PN },
        isVideo: true,
        isGroup: false,
        autoRejected: false,
        offline: false,
      }),
    ]);
    expect(events.messages('call_received')[0]!.rejectMessageSent).toBeUndefined();
    expect(events.messages('call_ended')).toEqual([expect.objectContaining({ callId: 'CALL1', reason: 'timeout', from: { lid: CALLER_LID, pn: CALLER_PN } })]);
    expect(socket.callRejects).toEqual([]);
  });

  it('rejectCalls on: rejected at the call-creator first, the message sent to the caller by phone once, call_received autoRejected', async () => {
    const { socket, events } = await connected({ rejectCalls: true, rejectCallMessage: 'Please write' });
    socket.calls([offer('CALL2'), offer('CALL2')]);
    await waitFor(() => events.messages('call_received').length === 1, 'call_received');
    expect(socket.callRejects).toEqual([{ callId: 'CALL2', callerJid: CALLER_LID }]);
    expect(socket.sends).toEqual([expect.objectContaining({ jid: CALLER_PN, content: { type: 'text', text: 'Please write' } })]);
    expect(socket.sends[0]!.opts.messageId).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(events.messages('call_received')[0]).toMatchObject({ callId: 'CALL2', autoRejected: true, rejectMessageSent: true });
  });

  it('the reject failing: logged, the call rings on (autoRejected false) and no message is sent', async () => {
    const { socket, events, lines } = await connected({ rejectCalls: true, rejectCallMessage: 'Please write' });
    socket.failNextReject = new Error('Timed Out');
    socket.calls([offer('CALL3')]);
    await waitFor(() => events.messages('call_received').length === 1, 'call_received');
    expect(events.messages('call_received')[0]).toMatchObject({ autoRejected: false });
    expect(socket.sends).toEqual([]);
    expect(lines.join('')).toMatch(/rejectCalls: WhatsApp did not take the reject/);
  });

  it('rejectCalls applies at once when changed by update_settings', async () => {
    const { socket, events, manager } = await connected();
    await manager.execute(update('u-4', { rejectCalls: true }));
    socket.calls([offer('CALL4')]);
    await waitFor(() => events.messages('call_received').length === 1, 'call_received');
    expect(events.messages('call_received')[0]).toMatchObject({ autoRejected: true });
    expect(events.messages('call_received')[0]!.rejectMessageSent).toBeUndefined();
  });

  it('reject_call: addressed to the call-creator when the backend names the caller by PN, answered call_rejected', async () => {
    const { socket, events, manager } = await connected();
    socket.calls([offer('CALL5')]);
    await waitFor(() => events.messages('call_received').length === 1, 'call_received');
    await manager.execute(rejectCall('r-1', 'CALL5', CALLER_PN));
    expect(socket.callRejects).toEqual([{ callId: 'CALL5', callerJid: CALLER_LID }]);
    expect(events.messages('call_rejected')).toEqual([expect.objectContaining({ requestId: 'r-1', callId: 'CALL5', from: CALLER_LID })]);
    // A call this session has not seen: addressed as the backend said.
    await manager.execute(rejectCall('r-2', 'OTHER', '221770000002@s.whatsapp.net'));
    expect(socket.callRejects[1]).toEqual({ callId: 'OTHER', callerJid: '221770000002@s.whatsapp.net' });
  });

  it('reject_call failing: call_reject_failed with WHATSAPP_ERROR, UNKNOWN_SESSION, NOT_CONNECTED', async () => {
    const { socket, events, manager } = await connected();
    socket.failNextReject = new Error('Timed Out');
    await manager.execute(rejectCall('r-3', 'CALL6', CALLER_PN));
    await manager.execute({ ...rejectCall('r-4', 'CALL6', CALLER_PN), numberId: 99, sessionId: undefined });
    socket.close(428, 'Connection Closed');
    await events.until(() => events.actions().includes('disconnected'));
    await manager.execute(rejectCall('r-5', 'CALL6', CALLER_PN));
    expect(events.messages('call_reject_failed').map((e) => [e.requestId, e.code, e.callId, e.from])).toEqual([
      ['r-3', 'WHATSAPP_ERROR', 'CALL6', CALLER_PN],
      ['r-4', 'UNKNOWN_SESSION', 'CALL6', CALLER_PN],
      ['r-5', 'NOT_CONNECTED', 'CALL6', CALLER_PN],
    ]);
    expect(events.messages('call_rejected')).toEqual([]);
  });
});

describe('autoRead and alwaysOnline', () => {
  it('autoRead: a message is read only after its message_received is confirmed and its delivery receipt sent; off: never', async () => {
    const { socket, events, manager } = await connected();
    socket.receive([incoming('3EB0AA')]);
    await waitFor(() => socket.acknowledged.includes('3EB0AA'), 'the delivery receipt');
    expect(socket.autoReads).toEqual([]);

    await manager.execute(update('u-5', { autoRead: true }));
    let gate!: () => void;
    events.messageGate = new Promise<void>((resolve) => (gate = resolve));
    socket.receive([incoming('3EB0BB')]);
    await waitFor(() => events.heldAtGate === 1, 'message_received held at the broker');
    expect(socket.autoReads).toEqual([]);
    events.messageGate = undefined;
    gate();
    await waitFor(() => socket.autoReads.includes('3EB0BB'), 'the automatic read receipt');
    expect(socket.acknowledged).toEqual(['3EB0AA', '3EB0BB']);
    expect(socket.autoReads).toEqual(['3EB0BB']);
  });

  it('alwaysOnline: available announced on each connect; a failure (no push name) is logged, never thrown; turning it off announces unavailable', async () => {
    const { socket, connector, manager, lines } = await connected({ alwaysOnline: true });
    await waitFor(() => socket.presences.length === 1, 'the presence');
    expect(socket.presences).toEqual([{ state: 'available' }]);

    socket.failNextPresence = new Error('WhatsApp has not told this account its push name yet');
    socket.close(428, 'Connection Closed');
    const next = await connector.socket(2);
    next.failNextPresence = new Error('WhatsApp has not told this account its push name yet');
    next.open('221771234567');
    await waitFor(
      () => lines.some((l) => l.includes('alwaysOnline: the presence could not be announced') && l.includes('push name')),
      'the presence failure logged',
    );
    expect(next.presences).toEqual([]);

    await manager.execute(update('u-6', { alwaysOnline: false }));
    await waitFor(() => next.presences.length === 1, 'the presence');
    expect(next.presences).toEqual([{ state: 'unavailable' }]);
  });
});

describe('the Baileys side: call events and history sync', () => {
  const call = (extra: Partial<WACallEvent>): WACallEvent => ({
    chatId: CALLER_LID,
    from: CALLER_LID,
    callerPn: CALLER_PN,
    id: 'A1B2C3',
    date: new Date(1_733_396_400_000),
    offline: false,
    status: 'offer',
    isVideo: true,
    ...extra,
  });

  it('offers and ends are translated; other steps and malformed ids or callers are dropped', () => {
    expect(toIncomingCall(call({}))).toEqual({
      id: 'A1B2C3',
      status: 'offer',
      from: { lid: CALLER_LID, pn: CALLER_PN },
      callerJid: CALLER_LID,
      isVideo: true,
      isGroup: false,
      at: 1_733_396_400_000,
      offline: false,
    });
    expect(toIncomingCall(call({ from: '221770000001:2@s.whatsapp.net', callerPn: undefined }))).toMatchObject({
      from: { pn: CALLER_PN },
      callerJid: '221770000001:2@s.whatsapp.net',
    });
    expect(toIncomingCall(call({ status: 'terminate' }))?.status).toBe('terminate');
    expect(toIncomingCall(call({ status: 'ringing' }))).toBeUndefined();
    expect(toIncomingCall(call({ status: 'accept' }))).toBeUndefined();
    expect(toIncomingCall(call({ id: 'a b' }))).toBeUndefined();
    expect(toIncomingCall(call({ id: 'A'.repeat(129) }))).toBeUndefined();
    expect(toIncomingCall(call({ from: '120363000000000000@g.us' }))).toBeUndefined();
    expect(toIncomingCall(call({ callerPn: 'evil@example.com' }))?.from).toEqual({ lid: CALLER_LID });
    const noTime = toIncomingCall(call({ date: new Date(NaN) }));
    expect(noTime?.at).toBeGreaterThan(1_733_396_400_000);
  });

  it('historySync: none processes only chunks without messages, recent all but FULL, full everything and asks for it', () => {
    const T = proto.HistorySync.HistorySyncType;
    const types = [T.INITIAL_BOOTSTRAP, T.RECENT, T.FULL, T.PUSH_NAME, T.NON_BLOCKING_DATA, T.ON_DEMAND];
    const accepted = (mode: 'none' | 'recent' | 'full') => {
      const config = historySyncConfig(mode);
      return { full: config.syncFullHistory, types: types.filter((syncType) => config.shouldSyncHistoryMessage?.({ syncType })) };
    };
    expect(accepted('none')).toEqual({ full: false, types: [T.PUSH_NAME, T.NON_BLOCKING_DATA] });
    expect(accepted('recent')).toEqual({ full: false, types: [T.INITIAL_BOOTSTRAP, T.RECENT, T.PUSH_NAME, T.NON_BLOCKING_DATA, T.ON_DEMAND] });
    expect(accepted('full')).toEqual({ full: true, types });
  });
});
