/**
 * Sending to a 200-member group (what the group-send benchmark does): each send of a client without
 * `cachedGroupMetadata` asks for the metadata once, and the emulator answers and counts every query
 * (`metadataQueries`; the bench read 0 before the query was counted where group-admin.ts answers it),
 * and every one of the 199 member contacts decrypts every message.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { TestClient } from './test-client.js';

const ACCOUNT = '491700000401';
const MEMBERS = Array.from({ length: 199 }, (_, i) => `1555004${String(i).padStart(4, '0')}`);

describe('emulator: sending to a 200-member group', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  let client: TestClient;
  let groupJid: string;

  const received = (id: string): number => MEMBERS.filter((p) => emu.receivedBy(p).some((r) => r.id === id && r.group === groupJid)).length;

  beforeAll(async () => {
    loud = quietLibsignal();
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
    groupJid = emu.createGroup('Large', [ACCOUNT, ...MEMBERS]).jid;
    client = (await linkViaQr(emu, ACCOUNT)).client;
  }, 180_000); // 199 emulated contacts (each with its Signal keys) on a shared, loaded machine

  afterAll(async () => {
    await client?.end();
    await emu?.close();
    untrust?.();
    loud?.();
  });

  it('answers a metadata query with all 200 participants and counts it', async () => {
    const before = emu.groups.get(groupJid)?.metadataQueries ?? 0;
    const meta = await client.sock.groupMetadata(groupJid);
    expect(meta.participants).toHaveLength(200);
    expect(meta.size).toBe(200);
    expect(emu.groups.get(groupJid)?.metadataQueries).toBe(before + 1);
  });

  it('each send without cachedGroupMetadata queries the metadata once (answered, counted), and all 199 members decrypt every send', async () => {
    const before = emu.groups.get(groupJid)?.metadataQueries ?? 0;
    const devicesBefore = emu.deviceQueries.queries;
    const ids: string[] = [];
    for (const text of ['first to 199', 'second to 199', 'third to 199']) {
      const sent = await client.sock.sendMessage(groupJid, { text });
      ids.push(sent?.key.id ?? '');
    }
    expect(emu.groups.get(groupJid)?.metadataQueries).toBe(before + 3);
    // the devices of the members come from Baileys' device cache after the first send
    expect(emu.deviceQueries.queries - devicesBefore).toBe(1);
    for (const id of ids) await emu.until(() => (received(id) === MEMBERS.length ? true : undefined), { timeoutMs: 90_000, what: `199 copies of ${id}` });
    expect(
      emu
        .state()
        .contacts.filter((c) => MEMBERS.includes(c.phone))
        .reduce((n, c) => n + c.undecryptable, 0),
    ).toBe(0);
  }, 180_000);
});
