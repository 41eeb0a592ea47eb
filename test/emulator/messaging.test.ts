/**
 * Phase 2: Signal-encrypted messaging between a linked Baileys client (which
 * uploads its real prekeys here) and emulated contacts.
 */
import { Agent } from 'node:https';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { downloadContentFromMessage } from '@whiskeysockets/baileys';
import { Agent as UndiciAgent } from 'undici';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { TestClient } from './test-client.js';
import { TestClient as Client, unrefPrekeyUploadTimers } from './test-client.js';

const ACCOUNT = '491700000201';
const ALICE = '15550000001';
const BOB = '15550000002';

describe('emulator messaging', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let restoreTimers: () => void;
  let loud: () => void;
  let client: TestClient;
  let linked: Awaited<ReturnType<typeof linkViaQr>>;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    restoreTimers = unrefPrekeyUploadTimers();
    loud = quietLibsignal();
    emu = await startEmulator(); // the client uploads its 812 prekeys
    untrust = trustEmulator(emu);
    emu.addContact(ALICE);
    emu.addContact(BOB);
    // uploads go to the media host over HTTPS: the client trusts its self-signed certificate
    linked = await linkViaQr(emu, ACCOUNT, { fetchAgent: new Agent({ ca: emu.mediaCa }) });
    client = linked.client;
    clients.push(client);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await emu.close();
    untrust();
    restoreTimers();
    loud();
  });

  it('stores the uploaded prekeys', () => {
    const device = emu.accounts.get(ACCOUNT)?.devices.get(1);
    expect(device?.preKeys.size).toBeGreaterThanOrEqual(800);
  });

  it('answers usync contact queries (onWhatsApp)', async () => {
    const res = await client.sock.onWhatsApp(`+${ALICE}`, '+15559999999');
    expect(res).toEqual(expect.arrayContaining([{ jid: `${ALICE}@s.whatsapp.net`, exists: true }]));
    expect(res?.some((r) => r.jid.startsWith('15559999999'))).toBe(false);
  });

  it('a contact receives and decrypts what the account sends (pkmsg, then msg), with ack + delivery receipt', async () => {
    const next = emu.waitForMessage(ALICE);
    const sent = await client.sock.sendMessage(`${ALICE}@s.whatsapp.net`, { text: 'hello alice' });
    const got = await next;
    expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe('hello alice');
    expect(got.from).toBe(ACCOUNT);
    expect(got.id).toBe(sent?.key.id);
    // the delivery receipt shows up as status DELIVERY_ACK (3) on the sent message
    const id = sent?.key.id ?? '';
    await client.waitFor(() => (client.statusOf(id) >= 3 ? true : undefined), 10_000, 'DELIVERY_ACK status');

    const again = emu.waitForMessage(ALICE);
    await client.sock.sendMessage(`${ALICE}@s.whatsapp.net`, { text: 'second' });
    expect((await again).message.conversation ?? (await again).message.extendedTextMessage?.text).toBe('second');
    expect(emu.receivedBy(ALICE)).toHaveLength(2);
  });

  it('a contact message reaches the online account as notify, addressed by LID with the PN alt', async () => {
    const res = await emu.sendMessage(BOB, ACCOUNT, 'hi from bob');
    expect(res.delivery).toBe('online');
    const { type, msg } = await client.received('hi from bob');
    expect(type).toBe('notify');
    expect(msg.key.remoteJid).toBe(emu.addContact(BOB).lid);
    expect(msg.key.remoteJidAlt).toBe(`${BOB}@s.whatsapp.net`);
    // a second message rides the established session (msg, not pkmsg)
    await emu.sendMessage(BOB, ACCOUNT, 'bob again');
    await client.received('bob again');
  });

  it('media the account sends is uploaded to the media host (media_conn) and the contact decrypts exactly its bytes', async () => {
    const bytes = randomBytes(50_000);
    const uploadsBefore = emu.mediaStats.uploads;
    const next = emu.waitForMessage(ALICE);
    await client.sock.sendMessage(`${ALICE}@s.whatsapp.net`, { image: bytes, caption: 'a picture', mimetype: 'image/png' });
    const got = await next;
    expect(got.message.imageMessage?.caption).toBe('a picture');
    expect(emu.mediaStats.uploads).toBe(uploadsBefore + 1);
    expect((await emu.mediaOf(got.message)).equals(bytes)).toBe(true);
  });

  it('media a contact sends points at the media host; Baileys downloads and decrypts the same bytes', async () => {
    const bytes = randomBytes(30_000);
    await emu.sendMedia(BOB, ACCOUNT, { kind: 'document', bytes, mimeType: 'application/pdf', fileName: 'report.pdf', caption: 'the report' });
    const msg = await client.waitFor(
      () => client.messages.flatMap((u) => u.messages).find((m) => m.message?.documentMessage?.fileName === 'report.pdf'),
      10_000,
      'the document message',
    );
    const doc = msg.message!.documentMessage!;
    expect(doc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v\//);
    const stream = await downloadContentFromMessage(doc as Parameters<typeof downloadContentFromMessage>[0], 'document', {
      options: { dispatcher: new UndiciAgent({ connect: { ca: emu.mediaCa } }) } as unknown as RequestInit,
    });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('a contact writes to a group: sender-key encrypted (skmsg + distribution), received with the group and the participant', async () => {
    const group = emu.createGroup('Team', [ACCOUNT, ALICE, BOB]);
    const first = await emu.sendGroupMessage(ALICE, group.jid, 'hello team');
    expect(first.delivery).toBe('online');
    const m1 = await client.waitFor(() => client.messages.flatMap((u) => u.messages).find((m) => m.key.id === first.id), 10_000, 'the group message');
    expect(m1.message?.conversation).toBe('hello team');
    expect(m1.key).toMatchObject({ remoteJid: group.jid, participant: emu.addContact(ALICE).lid, participantAlt: `${ALICE}@s.whatsapp.net`, fromMe: false });
    // the second message rides the same sender key (its chain advances)
    const second = await emu.sendGroupMessage(ALICE, group.jid, 'second to the team');
    const m2 = await client.waitFor(() => client.messages.flatMap((u) => u.messages).find((m) => m.key.id === second.id), 10_000, 'the second group message');
    expect(m2.message?.conversation).toBe('second to the team');
  });

  it('hands each uploaded one-time prekey out once', async () => {
    const device = emu.accounts.get(ACCOUNT)?.devices.get(1);
    const before = device?.preKeys.size ?? 0;
    const carol = '15550000003';
    emu.addContact(carol);
    await emu.sendMessage(carol, ACCOUNT, 'from carol');
    await client.received('from carol');
    expect(device?.preKeys.size).toBe(before - 1);
    // emulated contacts' bundles carry a fresh one-time prekey per fetch, too
    const a = emu.fetchBundle(emu.addContact(ALICE).lid);
    const b = emu.fetchBundle(emu.addContact(ALICE).lid);
    expect(a?.preKey?.keyId).not.toBe(b?.preKey?.keyId);
  });

  it('queues messages while the account is offline and replays them as offline (append) on login', async () => {
    await client.end();
    await emu.waitForConnectionCount(0);
    const r1 = await emu.sendMessage(ALICE, ACCOUNT, 'while you were away 1');
    const r2 = await emu.sendMessage(BOB, ACCOUNT, 'while you were away 2');
    expect([r1.delivery, r2.delivery]).toEqual(['queued', 'queued']);
    expect(emu.state().accounts.find((a) => a.phone === ACCOUNT)?.queued).toBe(2);

    const back = new Client(emu.url, linked.auth);
    clients.push(back);
    await back.ready();
    const m1 = await back.received('while you were away 1');
    const m2 = await back.received('while you were away 2');
    expect(m1.type).toBe('append');
    expect(m2.type).toBe('append');
    expect(emu.state().accounts.find((a) => a.phone === ACCOUNT)?.queued).toBe(0);

    // and the account can still send afterwards
    const next = emu.waitForMessage(BOB);
    await back.sock.sendMessage(`${BOB}@s.whatsapp.net`, { text: 'back online' });
    expect((await next).message.conversation ?? (await next).message.extendedTextMessage?.text).toBe('back online');
    client = back;
  });
});
