/**
 * The fan-out memo of contact-sender-keys.ts: members that got the same sender key decrypt a group
 * message once between them, and each still ends with its own, advanced key; a member whose key
 * differs (another distribution, or none) is decrypted on its own and fails on its own.
 */
import { describe, expect, it } from '@jest/globals';
import { GroupCipher, GroupSessionBuilder, SenderKeyRecord } from '@whiskeysockets/baileys/lib/Signal/Group/index.js';
import { ContactSenderKeys, FanoutMemo, senderKeyName } from './contact-sender-keys.js';
import type { Contact } from './signal-contacts.js';

const GROUP = '120363000000000001@g.us';
const SENDER = '111111111111111:2@lid';
const contact = (phone: string): Contact => ({ phone }) as Contact;

/** The sending device's side: a sender key, its distribution message, and encryption with it. */
function senderSide(): { distribution: () => Promise<Uint8Array>; encrypt: (text: string) => Promise<Uint8Array> } {
  let record = new SenderKeyRecord();
  const store = {
    loadSenderKey: async () => record,
    storeSenderKey: async (_n: unknown, r: SenderKeyRecord) => {
      record = r;
    },
  };
  const name = senderKeyName(GROUP, SENDER);
  return {
    distribution: async () => (await new GroupSessionBuilder(store).create(name)).serialize(),
    encrypt: (text) => new GroupCipher(store, name).encrypt(Buffer.from(text)),
  };
}

describe('emulator: contact sender keys, decrypted once per fan-out', () => {
  it('decrypts once for members holding the same key, each member advancing its own key; a stale key fails alone', async () => {
    const keys = new ContactSenderKeys();
    const [alice, bob, carol, dave] = ['1', '2', '3', '4'].map(contact) as [Contact, Contact, Contact, Contact];
    const old = senderSide();
    await keys.process(carol, GROUP, SENDER, await old.distribution()); // carol only has another (older) key
    const sender = senderSide();
    const skdm = await sender.distribution();
    for (const c of [alice, bob]) await keys.process(c, GROUP, SENDER, skdm);

    const first = await sender.encrypt('first');
    const memo = new FanoutMemo();
    for (const c of [alice, bob]) expect(Buffer.from(await keys.decrypt(c, GROUP, SENDER, first, memo)).toString()).toBe('first');
    await expect(keys.decrypt(carol, GROUP, SENDER, first, memo)).rejects.toThrow();
    await expect(keys.decrypt(dave, GROUP, SENDER, first, memo)).rejects.toThrow();
    expect(memo.decryptions).toBe(3); // alice and bob share one; carol's and dave's states differ

    // each kept its advanced state: the next message decrypts for both, without the memo too
    const second = await sender.encrypt('second');
    expect(Buffer.from(await keys.decrypt(alice, GROUP, SENDER, second)).toString()).toBe('second');
    expect(Buffer.from(await keys.decrypt(bob, GROUP, SENDER, second, new FanoutMemo())).toString()).toBe('second');
    // and a replay of the first fails for each (its message key was used up), memo or not
    await expect(keys.decrypt(alice, GROUP, SENDER, first)).rejects.toThrow(/old counter/);
    await expect(keys.decrypt(bob, GROUP, SENDER, first, new FanoutMemo())).rejects.toThrow(/old counter/);
  });
});
