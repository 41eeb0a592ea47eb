import { UnreadLedger } from '../../src/messaging/unread-ledger.js';

const PN = '221770000001@s.whatsapp.net';
const entry = (id: string, sentAt = 1000, participant?: string) => ({ id, sentAt, ...(participant ? { participant } : {}) });
const ids = (entries: Array<{ id: string }> | undefined) => entries?.map((e) => e.id);

describe('UnreadLedger', () => {
  it('upTo: the unread messages of the chat up to and including the id, in arrival order; undefined for an id not kept', () => {
    const ledger = new UnreadLedger({ perChat: 10, total: 100 });
    ledger.add(PN, entry('A', 1000));
    ledger.add(PN, entry('B', 2000));
    ledger.add(PN, entry('C', 3000));
    ledger.add('120363000000000001@g.us', entry('G', 1500, '222@lid'));
    expect(ids(ledger.upTo(PN, 'B'))).toEqual(['A', 'B']);
    expect(ids(ledger.upTo(PN, 'C'))).toEqual(['A', 'B', 'C']);
    expect(ledger.upTo(PN, 'G')).toBeUndefined();
    expect(ledger.upTo('120363000000000001@g.us', 'G')).toEqual([{ id: 'G', sentAt: 1500, participant: '222@lid' }]);
    expect(ledger.upTo('999@s.whatsapp.net', 'A')).toBeUndefined();
  });

  it('a message delivered late but sent before the id is included; one sent and delivered after it is not', () => {
    const ledger = new UnreadLedger({ perChat: 10, total: 100 });
    ledger.add(PN, entry('A', 1000));
    ledger.add(PN, entry('C', 3000));
    ledger.add(PN, entry('B', 2000)); // arrived after C, sent before it
    ledger.add(PN, entry('D', 4000));
    expect(ids(ledger.upTo(PN, 'C'))).toEqual(['A', 'C', 'B']);
    // Everything that arrived before B counts as seen before it, whatever the sender's clock says.
    expect(ids(ledger.upTo(PN, 'B'))).toEqual(['A', 'C', 'B']);
    expect(ids(ledger.upTo(PN, 'D'))).toEqual(['A', 'C', 'B', 'D']);
  });

  it('remove forgets what was read; an id added twice is kept once', () => {
    const ledger = new UnreadLedger({ perChat: 10, total: 100 });
    ledger.add(PN, entry('A'));
    ledger.add(PN, entry('A'));
    ledger.add(PN, entry('B'));
    expect(ledger.size).toBe(2);
    ledger.remove(PN, ['A', 'X']);
    expect(ledger.size).toBe(1);
    expect(ledger.get(PN, 'A')).toBeUndefined();
    expect(ids(ledger.upTo(PN, 'B'))).toEqual(['B']);
    ledger.remove(PN, ['B']);
    expect(ledger.size).toBe(0);
    expect(ledger.upTo(PN, 'B')).toBeUndefined();
  });

  it('per chat: past the bound, the oldest of that chat goes', () => {
    const ledger = new UnreadLedger({ perChat: 3, total: 100 });
    for (const id of ['A', 'B', 'C', 'D']) ledger.add(PN, entry(id));
    ledger.add('other@s.whatsapp.net', entry('Z'));
    expect(ledger.size).toBe(4);
    expect(ledger.get(PN, 'A')).toBeUndefined();
    expect(ids(ledger.upTo(PN, 'D'))).toEqual(['B', 'C', 'D']);
  });

  it('in total: past the bound, the chat least recently written to gives up its oldest first', () => {
    const ledger = new UnreadLedger({ perChat: 10, total: 4 });
    const [quiet, busy] = ['111@s.whatsapp.net', '222@s.whatsapp.net'];
    ledger.add(quiet, entry('Q1'));
    ledger.add(quiet, entry('Q2'));
    ledger.add(busy, entry('B1'));
    ledger.add(busy, entry('B2'));
    ledger.add(busy, entry('B3'));
    expect(ledger.size).toBe(4);
    expect(ledger.get(quiet, 'Q1')).toBeUndefined();
    ledger.add(busy, entry('B4'));
    expect(ledger.upTo(quiet, 'Q2')).toBeUndefined(); // the quiet chat is gone entirely
    expect(ids(ledger.upTo(busy, 'B4'))).toEqual(['B1', 'B2', 'B3', 'B4']);
    // Writing to a chat makes it the most recent: the other one pays next.
    ledger.add(quiet, entry('Q3'));
    expect(ids(ledger.upTo(busy, 'B4'))).toEqual(['B2', 'B3', 'B4']);
    expect(ids(ledger.upTo(quiet, 'Q3'))).toEqual(['Q3']);
    expect(ledger.size).toBe(4);
  });

  it('a contact writing from its LID is found by the LID too', () => {
    const ledger = new UnreadLedger({ perChat: 10, total: 100 });
    ledger.add(PN, entry('A'), '111111111111111@lid');
    expect(ledger.resolve('111111111111111@lid')).toBe(PN);
    expect(ledger.resolve(PN)).toBe(PN);
    expect(ledger.resolve('333@lid')).toBe('333@lid');
  });

  it('refuses limits below 1', () => {
    expect(() => new UnreadLedger({ perChat: 0, total: 10 })).toThrow(RangeError);
    expect(() => new UnreadLedger({ perChat: 10, total: 0 })).toThrow(RangeError);
  });
});
