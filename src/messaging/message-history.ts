import type { Logger } from 'pino';
import { objectKeys } from '../storage/object-keys.js';
import type { BlobStore } from '../storage/types.js';
import { backoffDelay, SingleTimer } from '../util/backoff.js';

/** One line of a session's message history. */
export interface HistoryRecord {
  direction: 'in' | 'out';
  messageId: string;
  /** When the message was sent (by us or by the sender), epoch ms: it decides the day. */
  at: number;
  chat: string;
  type: string;
  text?: string;
  from?: { pn?: string; lid?: string };
  participant?: string;
  requestId?: string;
  mediaKey?: string;
  replyTo?: string;
}

export interface MessageHistory {
  /** Queues a record; it is written with the others of its window. Never throws. */
  append(sessionId: string, record: HistoryRecord): void;
  /** Writes what is queued now (rejects, keeping it, if storage refuses). */
  flush(): Promise<void>;
  /** Drops what is queued for a session and waits for a write in flight (before its folder is deleted). */
  forget(sessionId: string): Promise<void>;
  close(): Promise<void>;
}

/** The storage codec, as far as history needs it (encrypted with the session's key when one is set). */
export interface HistoryCodec {
  encode(plain: Buffer, context: string): Buffer;
  decode(stored: Buffer, context: string): { data: Buffer };
}

interface StoredBatch {
  v: 1;
  records: HistoryRecord[];
}

export const dayOf = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10);

/**
 * A per-session message log partitioned by day: `sessions/<id>/messages/<YYYY-MM-DD>/<seq>`.
 * Appends never rewrite anything: the records of one flush window become ONE new object per
 * session and day (like the auth journal), so a busy session costs one write per window, not
 * one per message, and no write ever reads back the day's earlier objects. Every object goes
 * through the storage codec. A failed write keeps its records and retries with backoff.
 */
export class BlobMessageHistory implements MessageHistory {
  private pending = new Map<string, HistoryRecord[]>();
  /** Next sequence number per `sessionId\0day`, learned from a listing the first time. */
  private readonly nextSeq = new Map<string, number>();
  private readonly timer = new SingleTimer();
  private writing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  /** Objects written since start. */
  writes = 0;

  constructor(
    private readonly blobs: BlobStore,
    private readonly codec: HistoryCodec,
    private readonly opts: { flushIntervalMs: number; logger: Logger },
  ) {}

  append(sessionId: string, record: HistoryRecord): void {
    if (this.closed) return;
    let list = this.pending.get(sessionId);
    if (!list) this.pending.set(sessionId, (list = []));
    list.push(record);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer.pending || this.writing || this.pending.size === 0) return;
    const delay = this.failures === 0 ? this.opts.flushIntervalMs : backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000 });
    this.timer.schedule(delay, () => void this.writeOnce().catch(() => undefined));
  }

  async flush(): Promise<void> {
    this.timer.cancel();
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.pending.size > 0) await this.writeOnce();
  }

  async forget(sessionId: string): Promise<void> {
    this.pending.delete(sessionId);
    while (this.writing) await this.writing.catch(() => undefined);
    this.pending.delete(sessionId); // a failed write puts its records back
    for (const k of [...this.nextSeq.keys()]) if (k.startsWith(`${sessionId}\0`)) this.nextSeq.delete(k);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.timer.cancel();
    }
  }

  private writeOnce(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      this.schedule();
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const failed = new Map<string, HistoryRecord[]>();
    let firstError: unknown;
    for (const [sessionId, records] of batch) {
      const byDay = new Map<string, HistoryRecord[]>();
      for (const r of records) {
        const day = dayOf(r.at);
        byDay.set(day, [...(byDay.get(day) ?? []), r]);
      }
      for (const [day, dayRecords] of byDay) {
        try {
          const seq = await this.seqFor(sessionId, day);
          const key = objectKeys.messagesBatch(sessionId, day, seq);
          const body: StoredBatch = { v: 1, records: dayRecords };
          await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(body)), key));
          this.nextSeq.set(`${sessionId}\0${day}`, seq + 1);
          this.writes++;
        } catch (err) {
          firstError ??= err;
          failed.set(sessionId, [...(failed.get(sessionId) ?? []), ...dayRecords]);
        }
      }
    }
    if (failed.size === 0) {
      this.failures = 0;
      return;
    }
    // Keep them, ahead of anything that arrived meanwhile.
    for (const [sessionId, records] of failed) this.pending.set(sessionId, [...records, ...(this.pending.get(sessionId) ?? [])]);
    this.failures++;
    this.opts.logger.warn({ err: firstError, failures: this.failures }, 'message history write failed; will retry');
    throw firstError;
  }

  private async seqFor(sessionId: string, day: string): Promise<number> {
    const known = this.nextSeq.get(`${sessionId}\0${day}`);
    if (known !== undefined) return known;
    const keys = await this.blobs.list(objectKeys.messagesDay(sessionId, day));
    const last = keys.map((k) => Number(k.slice(k.lastIndexOf('/') + 1))).filter(Number.isSafeInteger);
    return last.length ? Math.max(...last) + 1 : 1;
  }

  /** Every record of one day, in order (for tests and tools). */
  async readDay(sessionId: string, day: string): Promise<HistoryRecord[]> {
    const out: HistoryRecord[] = [];
    for (const key of await this.blobs.list(objectKeys.messagesDay(sessionId, day))) {
      const buf = await this.blobs.get(key);
      if (!buf) continue;
      out.push(...(JSON.parse(this.codec.decode(buf, key).data.toString('utf8')) as StoredBatch).records);
    }
    return out;
  }
}
