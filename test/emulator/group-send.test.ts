/**
 * Sending TO a group from a linked Baileys client (group-send.ts): the metadata query, the sender-key fan-out
 * each member contact decrypts, the reuse of the sender key, per-member delivery receipts, duplicate ids.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BaileysEventMap } from '@whiskeysockets/baileys';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { TestClient } from './test-client.js';

const ACCOUNT = '491700000301';
const ALICE = '15550000031';
const BOB = '15550000032';
const CAROL = '15550000033';
const OUTSIDER = '15550000039';

type Receipt = BaileysEventMap['message-receipt.update'][number];

describe('emulator: sending to a group', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  let client: TestClient;
  let other: TestClient;
  let groupJid: string;
  const receipts: Receipt[] = [];
  /** the texts the first tests send to the group, in order */
  const sentTexts: Array<{ id: string; text: string }> = [];

  const textOf = (phone: string, id: string): string | null | undefined => {
    const m = emu.receivedBy(phone).find((r) => r.id === id);
    return m?.message.conversation ?? m?.message.extendedTextMessage?.text;
  };
  const lidOf = (phone: string): string => emu.addContact(phone).lid;
  /**
   * Resolves with the members whose delivery receipt for `id` Baileys reported, once there are `count`: as
   * `message-receipt.update`, or merged into the upsert of the sent message when they arrived while Baileys
   * buffered events (the receipts follow the server ack at once here).
   */
  const deliveredTo = (id: string, count: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const members = (): string[] => {
        const fromEvents = receipts.filter((r) => r.key.id === id && r.key.remoteJid === groupJid && r.key.fromMe && r.receipt.receiptTimestamp);
        const merged = client.messages.flatMap((u) => u.messages).filter((m) => m.key.id === id && m.key.fromMe);
        const jids = [
          ...fromEvents.map((r) => r.receipt.userJid),
          ...merged.flatMap((m) => (m.userReceipt ?? []).filter((r) => r.receiptTimestamp).map((r) => r.userJid)),
        ];
        return [...new Set(jids.filter((j): j is string => !!j))].sort();
      };
      const events = ['message-receipt.update', 'messages.upsert'] as const;
      const check = (): void => {
        if (members().length < count) return;
        clearTimeout(timer);
        for (const e of events) client.sock.ev.off(e, check);
        resolve(members());
      };
      const timer = setTimeout(() => {
        for (const e of events) client.sock.ev.off(e, check);
        reject(new Error(`${members().length} of ${count} delivery receipts for ${id}`));
      }, 10_000);
      for (const e of events) client.sock.ev.on(e, check);
      check();
    });

  beforeAll(async () => {
    loud = quietLibsignal();
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
    groupJid = emu.createGroup('Team', [ACCOUNT, ALICE, BOB, CAROL], { admins: [ALICE] }).jid;
    client = (await linkViaQr(emu, ACCOUNT)).client;
    // another linked device of the same account gets the account's group messages too
    other = (await linkViaQr(emu, ACCOUNT)).client;
    client.sock.ev.on('message-receipt.update', (u) => receipts.push(...u));
  });

  afterAll(async () => {
    await Promise.all([client.end(), other.end()]);
    await emu.close();
    untrust();
    loud();
  });

  it('answers groupMetadata: LID participants with their phone numbers, the creator superadmin, LID addressing', async () => {
    const meta = await client.sock.groupMetadata(groupJid);
    expect(meta).toMatchObject({ id: groupJid, subject: 'Team', addressingMode: 'lid', size: 4 });
    expect(meta.participants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: `${emu.accounts.get(ACCOUNT)?.lid}@lid`, phoneNumber: `${ACCOUNT}@s.whatsapp.net`, admin: 'superadmin' }),
        expect.objectContaining({ id: lidOf(ALICE), phoneNumber: `${ALICE}@s.whatsapp.net`, admin: 'admin' }),
        expect.objectContaining({ id: lidOf(BOB), phoneNumber: `${BOB}@s.whatsapp.net`, admin: null }),
        expect.objectContaining({ id: lidOf(CAROL), admin: null }),
      ]),
    );
  });

  it('refuses the metadata of an unknown group (404)', async () => {
    await expect(client.sock.groupMetadata('120363999999999999@g.us')).rejects.toThrow(/item-not-found|404/);
  });

  it('a text to the group: every member contact decrypts it (sender key from the 1:1 copy), and each sends a delivery receipt', async () => {
    const sent = await client.sock.sendMessage(groupJid, { text: 'hello team' });
    const id = sent?.key.id ?? '';
    sentTexts.push({ id, text: 'hello team' });
    for (const phone of [ALICE, BOB, CAROL]) {
      await emu.until(() => textOf(phone, id), { what: `${phone} decrypting the group message` });
      expect(emu.receivedBy(phone).find((r) => r.id === id)).toMatchObject({ group: groupJid, from: ACCOUNT, to: phone, participant: client.sock.user?.lid });
    }
    const first = emu.groups.get(groupJid)?.sentByDevices.find((s) => s.id === id);
    expect(first?.distributedTo).toEqual(expect.arrayContaining([lidOf(ALICE), lidOf(BOB), lidOf(CAROL)]));
    expect(await deliveredTo(id, 3)).toEqual([lidOf(ALICE), lidOf(BOB), lidOf(CAROL)].sort());
    expect(emu.receivedBy(OUTSIDER)).toEqual([]);
  });

  it('a second message reuses the sender key: skmsg only, no new distribution, every member decrypts it', async () => {
    const sent = await client.sock.sendMessage(groupJid, { text: 'second to the team' });
    const id = sent?.key.id ?? '';
    sentTexts.push({ id, text: 'second to the team' });
    for (const phone of [ALICE, BOB, CAROL]) await emu.until(() => textOf(phone, id), { what: `${phone} decrypting the second group message` });
    const second = emu.groups.get(groupJid)?.sentByDevices.find((s) => s.id === id);
    expect(second?.distributedTo.filter((jid) => jid.endsWith('@lid') && [lidOf(ALICE), lidOf(BOB), lidOf(CAROL)].includes(jid))).toEqual([]);
    expect(
      emu
        .state()
        .contacts.filter((c) => [ALICE, BOB, CAROL].includes(c.phone))
        .map((c) => c.undecryptable),
    ).toEqual([0, 0, 0]);
  });

  it("the account's other linked device gets both messages as its own (its sender key copy, then the skmsg alone)", async () => {
    expect(sentTexts.map((s) => s.text)).toEqual(['hello team', 'second to the team']);
    for (const { id, text } of sentTexts) {
      const copy = await other.waitFor(() => other.messages.flatMap((u) => u.messages).find((o) => o.key.id === id), 10_000, `the copy of ${id}`);
      expect(copy.key).toMatchObject({ remoteJid: groupJid, fromMe: true });
      expect(copy.message?.extendedTextMessage?.text ?? copy.message?.conversation).toBe(text);
    }
    // the device acknowledged both (its receipts), as it does contacts' messages
    await emu.until(() => (emu.state().accounts.find((a) => a.phone === ACCOUNT)?.unacked === 0 ? true : undefined), { what: 'both copies acknowledged' });
  });

  it('a resend with an id already sent is acked but reaches no member again (duplicateSends)', async () => {
    const sent = await client.sock.sendMessage(groupJid, { text: 'only once' });
    const id = sent?.key.id ?? '';
    await emu.until(() => textOf(CAROL, id), { what: 'the first copy' });
    const before = emu.state().accounts.find((a) => a.phone === ACCOUNT)?.duplicateSends ?? 0;
    await client.sock.relayMessage(groupJid, { conversation: 'only once' }, { messageId: id });
    await emu.until(() => ((emu.state().accounts.find((a) => a.phone === ACCOUNT)?.duplicateSends ?? 0) > before ? true : undefined), {
      what: 'the duplicate counted',
    });
    for (const phone of [ALICE, BOB, CAROL]) expect(emu.receivedBy(phone).filter((r) => r.id === id)).toHaveLength(1);
  });

  it('a member who votes on a poll sent to the group votes in the group', async () => {
    const sent = await client.sock.sendMessage(groupJid, { poll: { name: 'Lunch?', values: ['yes', 'no'], selectableCount: 1 } });
    const id = sent?.key.id ?? '';
    const poll = await emu.until(() => emu.receivedBy(BOB).find((r) => r.id === id), { what: 'the poll' });
    const vote = await emu.sendPollVote(BOB, poll, ['yes']);
    const got = await client.waitFor(() => client.messages.flatMap((u) => u.messages).find((m) => m.key.id === vote.id), 10_000, 'the vote');
    expect(got.key).toMatchObject({ remoteJid: groupJid, participant: lidOf(BOB), fromMe: false });
    expect(got.message?.pollUpdateMessage?.pollCreationMessageKey).toMatchObject({ remoteJid: groupJid, id, participant: `${ACCOUNT}@s.whatsapp.net` });
  });
});
