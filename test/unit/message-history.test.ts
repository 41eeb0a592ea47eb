import { BlobMessageHistory, type HistoryRecord } from '../../src/messaging/message-history.js';
import { objectKeys } from '../../src/storage/object-keys.js';
import { FailingBlobStore } from '../fakes/blob-stores.js';
import { silentLogger } from '../helpers/silent-logger.js';

const SID = 'session_6_+221771234567';
const codec = {
  encode: (b: Buffer, ctx: string) => Buffer.concat([Buffer.from(`ENC(${ctx})`), b]),
  decode: (b: Buffer, ctx: string) => ({ data: b.subarray(`ENC(${ctx})`.length) }),
};
const rec = (id: string, at: number): HistoryRecord => ({ direction: 'in', messageId: id, at, chat: 'x@lid', type: 'text', text: id });
const DAY1 = Date.UTC(2025, 0, 15, 23, 59);
const DAY2 = Date.UTC(2025, 0, 16, 0, 1);

describe('message history', () => {
  it('a window of messages is ONE new object per session and day, encoded; appends never rewrite', async () => {
    const blobs = new FailingBlobStore();
    const history = new BlobMessageHistory(blobs, codec, { flushIntervalMs: 60_000, logger: silentLogger });
    for (let i = 0; i < 50; i++) history.append(SID, rec(`a${i}`, DAY1));
    history.append(SID, rec('b0', DAY2));
    await history.flush();
    expect(blobs.attempts).toBe(2);
    expect([...blobs.objects.keys()]).toEqual([objectKeys.messagesBatch(SID, '2025-01-15', 1), objectKeys.messagesBatch(SID, '2025-01-16', 1)]);
    expect(objectKeys.messagesBatch(SID, '2025-01-15', 1)).toBe('sessions/session_6_~2B221771234567/messages/2025-01-15/000000000001');
    expect(
      blobs.objects
        .get(objectKeys.messagesBatch(SID, '2025-01-15', 1))!
        .subarray(0, 4)
        .toString(),
    ).toBe('ENC(');

    history.append(SID, rec('a50', DAY1));
    await history.flush();
    expect(blobs.attempts).toBe(3);
    expect(blobs.objects.has(objectKeys.messagesBatch(SID, '2025-01-15', 2))).toBe(true);
    expect((await history.readDay(SID, '2025-01-15')).map((r) => r.messageId)).toEqual([...Array.from({ length: 51 }, (_, i) => `a${i}`)]);
  });

  it('continues the sequence after a restart, and keeps records through a storage outage', async () => {
    const blobs = new FailingBlobStore();
    const first = new BlobMessageHistory(blobs, codec, { flushIntervalMs: 60_000, logger: silentLogger });
    first.append(SID, rec('x', DAY1));
    await first.close();
    const second = new BlobMessageHistory(blobs, codec, { flushIntervalMs: 10, logger: silentLogger });
    blobs.failPuts = 1;
    second.append(SID, rec('y', DAY1));
    await expect(second.flush()).rejects.toThrow(/injected outage/);
    second.append(SID, rec('z', DAY1));
    await second.flush();
    expect([...blobs.objects.keys()].sort()).toEqual([objectKeys.messagesBatch(SID, '2025-01-15', 1), objectKeys.messagesBatch(SID, '2025-01-15', 2)]);
    expect((await second.readDay(SID, '2025-01-15')).map((r) => r.messageId)).toEqual(['x', 'y', 'z']);
    await second.close();
  });
});
