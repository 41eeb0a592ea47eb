/** The JSON control API drives the same flows as the in-process API. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { startControlServer } from './control-http.js';
import { quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import { memoryAuth, TestClient } from './test-client.js';
import type { EmulatorState, ReceivedMessage } from './types.js';

describe('emulator control API', () => {
  let emu: EmulatorServer;
  let control: Awaited<ReturnType<typeof startControlServer>>;
  let untrust: () => void;
  let loud: () => void;
  const clients: TestClient[] = [];

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${control.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, json: (await res.json()) as T };
  };

  beforeAll(async () => {
    emu = await startEmulator({ skipPrekeyUpload: true });
    control = await startControlServer(emu);
    untrust = trustEmulator(emu);
    loud = quietLibsignal();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await control.close();
    await emu.close();
    untrust();
    loud();
  });

  it('links, reports state, sends and receives, and injects faults over HTTP', async () => {
    expect((await call('POST', '/history', { phoneNumber: '+49 170 0000301', history: { chats: [] } })).status).toBe(400);
    const history = { conversations: [{ with: '15550000399', messages: [{ id: 'HTTPHIST1', fromMe: false, text: 'from the phone' }] }] };
    expect((await call('POST', '/history', { phoneNumber: '+49 170 0000301', history })).json).toEqual({ ok: true });
    const auth = memoryAuth();
    const reg = new TestClient(emu.url, auth);
    clients.push(reg);
    const { json: qrPrefix } = await call<{ qr: string }>('GET', '/qr?timeoutMs=15000');
    const qr = await reg.qr(0);
    expect(qr.startsWith(qrPrefix.qr)).toBe(true);
    const scan = await call<{ jid: string }>('POST', '/scan', { qr, phoneNumber: '+49 170 0000301' });
    expect(scan.json.jid).toBe('491700000301:1@s.whatsapp.net');
    expect(await reg.closed()).toBe(DisconnectReason.restartRequired);

    const client = new TestClient(emu.url, auth);
    clients.push(client);
    await client.ready();
    const historyIds = () => client.histories.flatMap((set) => set.messages.map((m) => m.key.id));
    await client.waitFor(() => (historyIds().includes('HTTPHIST1') ? true : undefined), 15_000, 'the history set over HTTP');
    const state = await call<EmulatorState>('GET', '/state');
    expect(state.json.accounts).toEqual([expect.objectContaining({ phone: '491700000301', devices: [1] })]);
    expect(state.json.connectionCount).toBe(1);

    await call('POST', '/contacts', { phoneNumber: '15550000301' });
    const sent = await call<{ delivery: string }>('POST', '/send', { from: '15550000301', to: '491700000301', text: 'via http' });
    expect(sent.json.delivery).toBe('online');
    await client.received('via http');

    const next = call<ReceivedMessage>('GET', '/contacts/15550000301/next?timeoutMs=15000');
    await client.sock.sendMessage('15550000301@s.whatsapp.net', { text: 'reply via http' });
    const got = (await next).json;
    expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe('reply via http');

    const bad = await call<{ error: string }>('POST', '/fault', { kind: 'nope' });
    expect(bad.status).toBe(400);
    await call('POST', '/fault', { kind: 'drop', phoneNumber: '491700000301' });
    expect(await client.closed()).toBe(DisconnectReason.connectionClosed);
  });
});
