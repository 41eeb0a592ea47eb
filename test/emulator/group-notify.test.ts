/**
 * Group notifications (group-notify.ts) as a bare linked Baileys client sees them: each w:gp2 child becomes the
 * Baileys event notes 2 §8.3 lists, the device acks it (dropped from what the server holds for it); and, without
 * the worker's rotation, Baileys keeps its sender key after a removal: the removed contact could read the next message.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BaileysEventMap } from '@whiskeysockets/baileys';
import { waitFor } from '../helpers/wait.js';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { TestClient } from './test-client.js';

const ACCOUNT = '491700000401';
const ALICE = '15550000041';
const BOB = '15550000042';
const CAROL = '15550000043';
const DAVE = '15550000044';

describe('emulator: group notifications (w:gp2)', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  let client: TestClient;
  let groupJid: string;
  const upserts: BaileysEventMap['groups.upsert'] = [];
  const participants: Array<BaileysEventMap['group-participants.update']> = [];
  const updates: BaileysEventMap['groups.update'] = [];
  const requests: Array<BaileysEventMap['group.join-request']> = [];

  const lidOf = (phone: string): string => emu.addContact(phone).lid;
  const unacked = (): number => [...(emu.accounts.get(ACCOUNT)?.devices.values() ?? [])].reduce((n, d) => n + emu.delivery.unackedOf(d).size, 0);

  beforeAll(async () => {
    loud = quietLibsignal();
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
    client = (await linkViaQr(emu, ACCOUNT)).client;
    client.sock.ev.on('groups.upsert', (g) => upserts.push(...g));
    client.sock.ev.on('group-participants.update', (u) => participants.push(u));
    client.sock.ev.on('groups.update', (u) => updates.push(...u));
    client.sock.ev.on('group.join-request', (r) => requests.push(r));
  });

  afterAll(async () => {
    await client.end();
    await emu.close();
    untrust();
    loud();
  });

  it('<create>: groups.upsert with the metadata (the creator superadmin), acked by the device', async () => {
    groupJid = emu.groupNotify.createGroup(ALICE, 'Project', [ACCOUNT, BOB, CAROL], { admins: [ACCOUNT] }).jid;
    await waitFor(() => upserts.some((g) => g.id === groupJid), 'groups.upsert');
    const meta = upserts.find((g) => g.id === groupJid)!;
    expect(meta).toMatchObject({ subject: 'Project', author: lidOf(ALICE), addressingMode: 'lid' });
    expect(meta.participants).toHaveLength(4);
    await waitFor(() => unacked() === 0, 'the notification acked');
  });

  it('<add>, <promote>, <remove>: group-participants.update with the actor and the members', async () => {
    emu.groupNotify.addParticipants(ALICE, groupJid, [DAVE]);
    emu.groupNotify.promote(ALICE, groupJid, [BOB]);
    emu.groupNotify.removeParticipants(ALICE, groupJid, [DAVE]);
    await waitFor(() => participants.length >= 3, 'three participant updates');
    expect(participants.map((p) => [p.action, p.author, p.participants.map((m) => m.id)])).toEqual([
      ['add', lidOf(ALICE), [lidOf(DAVE)]],
      ['promote', lidOf(ALICE), [lidOf(BOB)]],
      ['remove', lidOf(ALICE), [lidOf(DAVE)]],
    ]);
    expect(emu.groups.get(groupJid)?.members.has(DAVE)).toBe(false);
  });

  it('<subject>, <announcement>, <locked>: groups.update (one at a time: Baileys merges buffered updates of one group); a membership request: group.join-request', async () => {
    emu.groupNotify.setSubject(BOB, groupJid, 'Renamed');
    await waitFor(() => updates.some((u) => u.subject === 'Renamed'), 'the subject update');
    emu.groupNotify.setSetting(BOB, groupJid, 'announcement');
    await waitFor(() => updates.some((u) => u.announce === true), 'the announce update');
    emu.groupNotify.setSetting(BOB, groupJid, 'locked');
    await waitFor(() => updates.some((u) => u.restrict === true), 'the restrict update');
    expect(updates.find((u) => u.subject === 'Renamed')).toMatchObject({ id: groupJid, author: lidOf(BOB) });
    emu.groupNotify.requestMembership(groupJid, DAVE, 'invite_link');
    await waitFor(() => requests.length > 0, 'group.join-request');
    expect(requests[0]).toMatchObject({
      id: groupJid,
      participant: lidOf(DAVE),
      participantPn: `${DAVE}@s.whatsapp.net`,
      action: 'created',
      method: 'invite_link',
    });
  });

  it('bare Baileys keeps its sender key after a removal: the removed contact could read the next message (the worker rotates it)', async () => {
    const first = await client.sock.sendMessage(groupJid, { text: 'everyone' });
    await emu.until(() => emu.receivedBy(CAROL).find((m) => m.id === first?.key.id), { what: 'Carol reading the first message' });
    emu.groupNotify.removeParticipants(ALICE, groupJid, [CAROL]);
    await waitFor(() => participants.some((p) => p.action === 'remove' && p.participants.some((m) => m.id === lidOf(CAROL))), 'the removal');
    const second = await client.sock.sendMessage(groupJid, { text: 'without Carol' });
    const tried = await emu.until(() => emu.groupNotify.formerMemberReads(groupJid).find((r) => r.id === second?.key.id), {
      what: 'the second message tried on Carol',
    });
    expect(tried).toMatchObject({ phone: CAROL, decrypted: true });
    expect(emu.receivedBy(CAROL).some((m) => m.id === second?.key.id)).toBe(false);
  });
});
