import { SessionRecord } from '../../src/sessions/session-record.js';
import type { SessionMeta } from '../../src/storage/types.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';

const SID = 'session_6_+221771234567';
const identity = { id: SID, numberId: 6, phoneNumber: '+221771234567' };

/** A store that counts metadata writes. */
function countingStore() {
  const store = new MemorySessionStore();
  const writes: SessionMeta[] = [];
  const save = store.saveMeta.bind(store);
  store.saveMeta = async (meta) => {
    writes.push({ ...meta });
    return save(meta);
  };
  return { store, writes };
}

describe("session record: the one writer of a session's ownership metadata", () => {
  it('claims once, writes again only for a new JID, keeps createdAt', async () => {
    const { store, writes } = countingStore();
    const record = new SessionRecord(identity, store, 'w1');
    await record.claim();
    await record.claim();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ sessionId: SID, numberId: 6, phoneNumber: '+221771234567', workerId: 'w1' });
    expect(writes[0]!.jid).toBeUndefined();
    await record.claim('221771234567:1@s.whatsapp.net');
    await record.claim('221771234567:1@s.whatsapp.net');
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatchObject({ workerId: 'w1', jid: '221771234567:1@s.whatsapp.net', createdAt: writes[0]!.createdAt });
  });

  it('a claim takes over a record of another worker, keeping its JID and creation time', async () => {
    const { store, writes } = countingStore();
    await store.saveMeta({ sessionId: SID, numberId: 6, phoneNumber: '+221771234567', workerId: 'old', jid: 'j@s.whatsapp.net', createdAt: 5, updatedAt: 5 });
    writes.length = 0;
    await new SessionRecord(identity, store, 'w1').claim();
    expect(writes).toEqual([expect.objectContaining({ workerId: 'w1', jid: 'j@s.whatsapp.net', createdAt: 5 })]);
  });

  it('a handover records the new owner (keeping JID and creation time); a claim afterwards takes the session back', async () => {
    const { store, writes } = countingStore();
    const record = new SessionRecord(identity, store, 'w1').adopt({
      sessionId: SID,
      numberId: 6,
      phoneNumber: '+221771234567',
      workerId: 'w1',
      jid: 'j@s.whatsapp.net',
      createdAt: 5,
      updatedAt: 5,
    });
    await record.claim();
    expect(writes).toHaveLength(0); // adopted: already ours, nothing to write
    await record.handOver('w2');
    expect(await store.loadMeta(SID)).toMatchObject({ workerId: 'w2', jid: 'j@s.whatsapp.net', createdAt: 5 });
    await record.claim();
    expect(writes.map((m) => m.workerId)).toEqual(['w2', 'w1']);
  });

  it("a failed write is the caller's to see, and nothing is remembered as written", async () => {
    const { store, writes } = countingStore();
    const save = store.saveMeta;
    store.saveMeta = async () => {
      throw new Error('storage down');
    };
    const record = new SessionRecord(identity, store, 'w1');
    await expect(record.claim()).rejects.toThrow('storage down');
    store.saveMeta = save;
    await record.claim();
    expect(writes).toHaveLength(1);
  });
});
