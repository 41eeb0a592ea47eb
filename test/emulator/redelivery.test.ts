/**
 * WhatsApp keeps a message for a device until the device acknowledges it, and redelivers it (as
 * offline) after a reconnect otherwise; it delivers one message per message id a client sends.
 * A real Baileys client holds its delivery receipts with `holdIncomingReceipt` (the receipt gate
 * of scripts/patch-baileys.mjs) to play a worker that died before acknowledging.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DisconnectReason, proto } from '@whiskeysockets/baileys';
import type { UserFacingSocketConfig, WAMessageKey } from '@whiskeysockets/baileys';
import { waitFor } from '../helpers/wait.js';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { MemoryAuth } from './test-client.js';
import { TestClient, unrefPrekeyUploadTimers } from './test-client.js';
import type { EmulatorState } from './types.js';

const ACCOUNT = '491700000301';
const ALICE = '15550000301';
const BOB = '15550000302';

type Held = Array<{ key: WAMessageKey; release: () => Promise<void> }>;

describe('emulator redelivery of unacknowledged messages', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  let restoreTimers: () => void;
  let auth: MemoryAuth;
  const clients: TestClient[] = [];

  const login = (extra: Partial<UserFacingSocketConfig> = {}): TestClient => {
    const c = new TestClient(emu.url, auth, extra);
    clients.push(c);
    return c;
  };
  /** A client that never sends delivery receipts by itself: they wait in `held`. */
  const holdingLogin = (held: Held): TestClient => login({ holdIncomingReceipt: (key, release) => held.push({ key, release }) });
  const account = (): EmulatorState['accounts'][number] => {
    const a = emu.state().accounts.find((x) => x.phone === ACCOUNT);
    if (!a) throw new Error(`no account ${ACCOUNT}`);
    return a;
  };
  const unacked = (n: number, what: string): Promise<void> => waitFor(() => account().unacked === n, what, { detail: () => `unacked=${account().unacked}` });
  const offline = async (c: TestClient): Promise<void> => {
    await c.end();
    await emu.waitForConnectionCount(0);
  };
  const ids = (c: TestClient): Array<string | null | undefined> => c.messages.flatMap((b) => b.messages).map((m) => m.key.id);

  beforeAll(async () => {
    // the retry receipt with keys uses up a local prekey, so the next login uploads prekeys (30 s UPLOAD_TIMEOUT)
    restoreTimers = unrefPrekeyUploadTimers();
    loud = quietLibsignal();
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
    emu.addContact(ALICE);
    emu.addContact(BOB);
    const linked = await linkViaQr(emu, ACCOUNT);
    auth = linked.auth;
    clients.push(linked.client);
    await offline(linked.client);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await emu.close();
    untrust();
    loud();
    restoreTimers();
  });

  it('a message the client acknowledges is not redelivered after a reconnect', async () => {
    const c = login();
    await c.ready();
    const sent = await emu.sendMessage(ALICE, ACCOUNT, 'acked once');
    await c.received('acked once');
    await unacked(0, 'the delivery receipt');
    await offline(c);

    const back = login();
    await back.ready();
    // delivery keeps order: once a later message is in, a redelivery of the earlier one would be too
    await emu.sendMessage(ALICE, ACCOUNT, 'after the reconnect');
    await back.received('after the reconnect');
    expect(ids(back)).not.toContain(sent.id);
    await unacked(0, 'the receipt for the later message');
    expect(account().redelivered).toBe(0);
    await offline(back);
  });

  it('a message the client does not acknowledge is redelivered as offline (append) after a reconnect, until acknowledged', async () => {
    const held: Held = [];
    const c = holdingLogin(held);
    await c.ready();
    const sent = await emu.sendMessage(BOB, ACCOUNT, 'not acknowledged');
    const first = await c.received('not acknowledged');
    expect(first.type).toBe('notify');
    expect(held.map((h) => h.key.id)).toContain(sent.id);
    expect(account().unacked).toBe(1);
    await offline(c);
    // still owed to the device while it is away
    expect(account()).toMatchObject({ unacked: 1, queued: 0 });

    const back = login();
    await back.ready();
    const again = await back.received('not acknowledged');
    expect(again.type).toBe('append');
    expect(again.msg.key.id).toBe(sent.id);
    expect(Number(again.msg.messageTimestamp)).toBe(Number(first.msg.messageTimestamp));
    await unacked(0, 'the receipt for the redelivered message');
    expect(account().redelivered).toBe(1);
    await offline(back);
  });

  it('redelivers before what was queued later, and a group message (new skmsg) decrypts again', async () => {
    const group = emu.createGroup('Redelivery', [ACCOUNT, ALICE, BOB]);
    const held: Held = [];
    const c = holdingLogin(held);
    await c.ready();
    const g = await emu.sendGroupMessage(ALICE, group.jid, 'group, not acknowledged');
    await c.waitFor(() => (ids(c).includes(g.id) ? true : undefined), 10_000, 'the group message');
    await offline(c);
    const later = await emu.sendMessage(BOB, ACCOUNT, 'queued after the close');
    expect(later.delivery).toBe('queued');

    const back = login();
    await back.ready();
    await back.received('queued after the close');
    const order = ids(back);
    expect(order.indexOf(g.id)).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(g.id)).toBeLessThan(order.indexOf(later.id));
    const redelivered = back.messages.find((b) => b.messages.some((m) => m.key.id === g.id));
    expect(redelivered?.type).toBe('append');
    expect(redelivered?.messages.find((m) => m.key.id === g.id)?.message?.conversation).toBe('group, not acknowledged');
    await unacked(0, 'the receipts after the reconnect');
    await offline(back);
  });

  it('a duplicate send of the same message id reaches the contact once and counts in duplicateSends', async () => {
    const c = login();
    await c.ready();
    const id = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
    const to = `${ALICE}@s.whatsapp.net`;
    const first = emu.waitForMessage(ALICE);
    await c.sock.sendMessage(to, { text: 'only once' }, { messageId: id });
    expect((await first).id).toBe(id);
    await c.sock.sendMessage(to, { text: 'only once' }, { messageId: id });
    await waitFor(() => account().duplicateSends === 1, 'the duplicate send');

    // the contact's next message is the one after the duplicate
    const next = emu.waitForMessage(ALICE);
    await c.sock.sendMessage(to, { text: 'after the duplicate' });
    const got = await next;
    expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe('after the duplicate');
    expect(emu.receivedBy(ALICE).filter((m) => m.id === id)).toHaveLength(1);
    await offline(c);
  });

  it('a retry receipt gets the message encrypted again and resent, with a new session once the device sends keys', async () => {
    const CAROL = '15550000303';
    const carolLid = emu.addContact(CAROL).lid.split('@')[0] ?? '';
    const c = login();
    await c.ready();
    await emu.sendMessage(CAROL, ACCOUNT, 'carol first');
    await c.received('carol first');
    // the device's reply settles the session on carol's side: her next message is a plain `msg`, no prekey
    const reply = emu.waitForMessage(CAROL);
    await c.sock.sendMessage(`${CAROL}@s.whatsapp.net`, { text: 'hi carol' });
    await reply;
    await unacked(0, 'the receipt for her first message');
    // the device loses its session with carol, so it cannot decrypt her next message
    for (const k of [...auth.data.keys()]) if (k.startsWith('session:') && (k.includes(carolLid) || k.includes(CAROL))) auth.data.delete(k);

    const sent = await emu.sendMessage(CAROL, ACCOUNT, 'after retry receipts');
    const got = await c.received('after retry receipts');
    expect(got.msg.key.id).toBe(sent.id);
    // it got there through the retry path: first a stub for the copy the device could not decrypt
    const stubs = c.messages.flatMap((b) => b.messages).filter((m) => m.key.id === sent.id && m.messageStubType === proto.WebMessageInfo.StubType.CIPHERTEXT);
    expect(stubs.length).toBeGreaterThan(0);
    await unacked(0, 'the receipt for the resent message');
    await offline(c);
  });

  it('two logins of the same device: maxConcurrentConnections 2, one loginConflict, and what the replaced one held goes to the new one', async () => {
    const conflictsBefore = account().loginConflicts;
    const held: Held = [];
    const a = holdingLogin(held);
    await a.ready();
    const sent = await emu.sendMessage(ALICE, ACCOUNT, 'held by the replaced connection');
    await a.received('held by the replaced connection');

    const b = login();
    await b.ready();
    expect(await a.closed()).toBe(DisconnectReason.connectionReplaced);
    const again = await b.received('held by the replaced connection');
    expect(again).toMatchObject({ type: 'append', msg: { key: { id: sent.id } } });
    await unacked(0, 'the receipt from the new connection');
    expect(account()).toMatchObject({ maxConcurrentConnections: 2, loginConflicts: conflictsBefore + 1 });
    await offline(b);
  });
});
