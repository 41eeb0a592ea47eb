import { toMemberReceipt } from '../../src/whatsapp/baileys-group-receipts.js';

const GROUP = '120363000000000001@g.us';
const MEMBER = '100000000000001@lid';

describe('toMemberReceipt (a group member receipt for our own message)', () => {
  it('delivered, read and played from the timestamp Baileys set, with the member and the time in ms', () => {
    const key = { remoteJid: GROUP, fromMe: true, id: 'M1' };
    expect(toMemberReceipt(key, { userJid: MEMBER, receiptTimestamp: 1_700_000_000 })).toEqual({
      messageId: 'M1',
      chat: GROUP,
      status: 'delivered',
      participant: MEMBER,
      at: 1_700_000_000_000,
    });
    expect(toMemberReceipt(key, { userJid: MEMBER, receiptTimestamp: 1, readTimestamp: 2 })).toMatchObject({ status: 'read', at: 2000 });
    expect(toMemberReceipt(key, { userJid: MEMBER, readTimestamp: 2, playedTimestamp: 3 })).toMatchObject({ status: 'played', at: 3000 });
  });

  it('nothing for a message not ours, without an id or chat, or a receipt without a timestamp', () => {
    expect(toMemberReceipt({ remoteJid: GROUP, fromMe: false, id: 'M1' }, { userJid: MEMBER, receiptTimestamp: 1 })).toBeUndefined();
    expect(toMemberReceipt({ remoteJid: GROUP, fromMe: true }, { userJid: MEMBER, receiptTimestamp: 1 })).toBeUndefined();
    expect(toMemberReceipt({ fromMe: true, id: 'M1' }, { userJid: MEMBER, receiptTimestamp: 1 })).toBeUndefined();
    expect(toMemberReceipt({ remoteJid: GROUP, fromMe: true, id: 'M1' }, { userJid: MEMBER })).toBeUndefined();
  });
});
