/**
 * The history a phone sends a newly linked device (phone-history.ts), as the real Baileys client
 * sees it: `messaging-history.set` with the conversations' messages, chats and contacts; each
 * chunk kept by the server until the device receipts it, and sent again after a reconnect otherwise.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { BaileysEventMap, UserFacingSocketConfig, WAMessageKey } from '@whiskeysockets/baileys';
import { waitFor } from '../helpers/wait.js';
import { quietLibsignal, trustEmulator } from './helpers.js';
import type { PhoneHistory } from './phone-history.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import { memoryAuth, TestClient, type MemoryAuth } from './test-client.js';

type HistorySet = BaileysEventMap['messaging-history.set'];

const ALICE = '15550000501';
const BOB = '15550000502';

const history = (): PhoneHistory => ({
  conversations: [
    {
      with: ALICE,
      name: 'Alice',
      messages: [
        { id: 'HA1', fromMe: false, text: 'a1' },
        { id: 'HA2', fromMe: true, text: 'a2' },
        { id: 'HA3', fromMe: false, text: 'a3' },
        { id: 'HA4', fromMe: false, text: 'a4' },
        { id: 'HA5', fromMe: true, text: 'a5' },
      ],
    },
    { with: BOB, name: 'Bob', messages: [{ id: 'HB1', fromMe: false, text: 'b1' }] },
  ],
  pushnames: [{ phone: BOB, name: 'Bobby' }],
  messagesPerChunk: 4,
});

describe('emulator: the history a phone sends after linking', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    loud = quietLibsignal();
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
    await emu.waitForConnectionCount(0);
  });

  afterAll(async () => {
    await emu.close();
    untrust();
    loud();
  });

  /** Links `phone` by QR; the logged-in client (with `extra`) records every history set from its first event on. */
  const link = async (phone: string, extra: Partial<UserFacingSocketConfig> = {}) => {
    const auth = memoryAuth();
    const reg = new TestClient(emu.url, auth);
    clients.push(reg);
    await emu.scanQr(await reg.qr(0), { phoneNumber: phone });
    expect(await reg.closed()).toBe(515);
    await reg.end();
    return { auth, ...login(auth, extra) };
  };
  const login = (auth: MemoryAuth, extra: Partial<UserFacingSocketConfig> = {}) => {
    const client = new TestClient(emu.url, auth, extra);
    clients.push(client);
    const sets: HistorySet[] = [];
    client.sock.ev.on('messaging-history.set', (s) => sets.push(s));
    return { client, sets };
  };
  const account = (phone: string) => emu.state().accounts.find((a) => a.phone === phone);
  const messageIds = (sets: HistorySet[]) => sets.flatMap((s) => s.messages.map((m) => m.key.id)).sort();

  it('chunks (bootstrap, recent, push names) carry every message, ours fromMe, the chats and the contacts; each is receipted', async () => {
    const phone = '491700000501';
    emu.setPhoneHistory(`+${phone}`, history());
    const { sets } = await link(phone);
    await waitFor(() => messageIds(sets).length === 6 && sets.some((s) => s.contacts.some((c) => c.notify === 'Bobby')), 'the whole history', {
      timeoutMs: 20_000,
      detail: () => JSON.stringify(sets.map((s) => ({ syncType: s.syncType, messages: s.messages.length, contacts: s.contacts.length }))),
    });
    expect(messageIds(sets)).toEqual(['HA1', 'HA2', 'HA3', 'HA4', 'HA5', 'HB1']);
    const all = sets.flatMap((s) => s.messages);
    expect(all.find((m) => m.key.id === 'HA2')?.key).toMatchObject({ remoteJid: `${ALICE}@s.whatsapp.net`, fromMe: true });
    expect(all.find((m) => m.key.id === 'HA1')).toMatchObject({ key: { fromMe: false }, message: { conversation: 'a1' }, pushName: 'Alice' });
    expect(new Set(sets.flatMap((s) => s.chats.map((c) => c.id)))).toEqual(new Set([`${ALICE}@s.whatsapp.net`, `${BOB}@s.whatsapp.net`]));
    expect(sets.flatMap((s) => s.contacts)).toEqual(expect.arrayContaining([expect.objectContaining({ id: `${ALICE}@s.whatsapp.net`, name: 'Alice' })]));
    await waitFor(() => account(phone)?.unacked === 0, 'every chunk receipted', { detail: () => JSON.stringify(account(phone)) });
  });

  it('chunks a device did not receipt are sent again on its next login, same ids', async () => {
    const phone = '491700000502';
    emu.setPhoneHistory(`+${phone}`, history());
    const held: WAMessageKey[] = [];
    const first = await link(phone, { holdIncomingReceipt: (key) => held.push(key) });
    // 3 history chunks (4 + 2 messages, push names) held unreceipted, beside the key share
    await waitFor(() => account(phone)!.unacked >= 3 && messageIds(first.sets).length === 6, 'the history, unreceipted', {
      timeoutMs: 20_000,
      detail: () => JSON.stringify(account(phone)),
    });
    const unreceipted = account(phone)!.unacked;
    await first.client.end();
    await emu.waitForConnectionCount(0);

    const again = login(first.auth);
    await waitFor(() => messageIds(again.sets).length === 6, 'the history again', { timeoutMs: 20_000, detail: () => JSON.stringify(account(phone)) });
    expect(messageIds(again.sets)).toEqual(['HA1', 'HA2', 'HA3', 'HA4', 'HA5', 'HB1']);
    expect(account(phone)!.redelivered).toBe(unreceipted);
    await waitFor(() => account(phone)?.unacked === 0, 'every chunk receipted now', { detail: () => JSON.stringify(account(phone)) });
  });
});
