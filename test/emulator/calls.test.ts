/**
 * Calls (calls.ts): a contact's offer reaches a linked Baileys client as its `call` event, the
 * client's `rejectCall` resolves (the emulator answers its id) and the contact observes the reject;
 * the end of a call is reported with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WACallEvent } from '@whiskeysockets/baileys';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { TestClient } from './test-client.js';

const ACCOUNT = '491700000301';
const ALICE = '15550000031';

describe('emulator calls', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  let client: TestClient;
  const calls: WACallEvent[] = [];

  /** The first call event matching `pick`, past or future. */
  const nextCall = (pick: (c: WACallEvent) => boolean): Promise<WACallEvent> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = calls.find(pick);
        if (found) {
          clearTimeout(timer);
          client.sock.ev.off('call', check);
          resolve(found);
        }
        return !!found;
      };
      const timer = setTimeout(() => {
        client.sock.ev.off('call', check);
        reject(new Error('no such call event within 10 s'));
      }, 10_000);
      if (!check()) client.sock.ev.on('call', check);
    });

  beforeAll(async () => {
    loud = quietLibsignal();
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
    emu.addContact(ALICE);
    client = (await linkViaQr(emu, ACCOUNT)).client;
    client.sock.ev.on('call', (events) => calls.push(...events));
  });

  afterAll(async () => {
    await client.end();
    await emu.close();
    untrust();
    loud();
  });

  it('an offer arrives as Baileys reads it: the contact by LID, its PN, video; rejectCall resolves and the contact observes it', async () => {
    const alice = emu.contacts.get(ALICE)!;
    const { callId, rang } = emu.call(ALICE, ACCOUNT, { video: true });
    expect(rang).toBe(1);
    const offer = await nextCall((c) => c.id === callId && c.status === 'offer');
    expect(offer).toMatchObject({ from: alice.lidJid, chatId: alice.lidJid, callerPn: alice.pnJid, isVideo: true, isGroup: false, offline: false });
    await client.sock.rejectCall(callId, offer.from);
    expect(emu.callRejects(ALICE)).toEqual([{ callId, by: ACCOUNT, device: 1 }]);
  });

  it('a voice call that ends unanswered: offer without video, then timeout', async () => {
    const { callId } = emu.call(ALICE, ACCOUNT);
    expect((await nextCall((c) => c.id === callId && c.status === 'offer')).isVideo).toBe(false);
    emu.endCall(ALICE, ACCOUNT, callId, 'timeout');
    await nextCall((c) => c.id === callId && c.status === 'timeout');
    emu.endCall(ALICE, ACCOUNT, callId, 'terminate');
    await nextCall((c) => c.id === callId && c.status === 'terminate');
    expect(emu.callRejects(ALICE).map((r) => r.callId)).not.toContain(callId);
  });

  it('a call to an account with no open connection rings nowhere; an unknown contact cannot call', () => {
    expect(emu.call(ALICE, '491700009999').rang).toBe(0);
    expect(() => emu.call('15550009999', ACCOUNT)).toThrow(/unknown contact/);
  });
});
