import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { describeError } from '../util/errors.js';
import type { PublishOptions } from './types.js';

/** A message the publisher could not get confirmed in time, as journaled. */
export interface JournalEntry {
  id: number;
  exchange: string;
  routingKey: string;
  body: Buffer;
  options: PublishOptions;
}

export interface OutboxJournalOptions {
  /** Its own directory: segment files and a lock; one process at a time. */
  dir: string;
  /** The segments on disk never exceed this; past it new entries are not journaled (see `append`). */
  maxBytes: number;
  /** Appended records are written and fsynced together at most this long after the first of them. */
  fsyncIntervalMs: number;
  logger: Logger;
}

const SEGMENT = /^segment-(\d{8})\.log$/;
const segmentName = (n: number) => `segment-${String(n).padStart(8, '0')}.log`;

/**
 * The publisher's durable outbox: an append-only journal of messages waiting for the broker, so
 * they survive a SIGKILL or an OOM. One JSON record per line in numbered segment files: `{"a":id,…}`
 * journals a message, `{"c":id}` records its confirmation. Appends are buffered and written then
 * fsynced once per `fsyncIntervalMs` window, off the event loop. `open` reads the segments back
 * (a torn last line, from a crash mid-write, is ignored) and `recovered` lists the entries never
 * confirmed, in journal order. Once every journaled entry is confirmed the segments are deleted
 * and a new one started. Bounded: when the segments would exceed `maxBytes`, new entries are not
 * journaled (they still wait in memory) and each is counted and logged; confirmations always are.
 * A directory locked by another live process (same WORKER_ID twice on one host) disables the
 * journal, with an error logged, rather than let two writers interleave.
 */
export class OutboxJournal {
  /** Journaled, never confirmed, in order: to publish again before anything new. */
  readonly recovered: JournalEntry[] = [];
  private readonly live = new Set<number>();
  private nextId = 1;
  private segment = 0;
  private handle: Promise<FileHandle> | undefined;
  /** Bytes in the segments on disk plus those buffered. */
  private size = 0;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private disabled = false;
  private closed = false;
  private full = false;
  /** Entries refused because the journal was full (or disabled). */
  notJournaled = 0;
  writeErrors = 0;

  private constructor(private readonly opts: OutboxJournalOptions) {}

  /** Reads what a previous process left (synchronously: once, at start, before anything publishes). */
  static open(opts: OutboxJournalOptions): OutboxJournal {
    const journal = new OutboxJournal(opts);
    journal.load();
    return journal;
  }

  get enabled(): boolean {
    return !this.disabled && !this.closed;
  }

  /** Bytes the journal takes on disk (and in its write buffer). */
  get bytes(): number {
    return this.size;
  }

  /** Journaled entries not yet confirmed. */
  get pending(): number {
    return this.live.size;
  }

  private load(): void {
    const { dir, logger } = this.opts;
    mkdirSync(dir, { recursive: true });
    if (!this.lock()) return;
    const segments = readdirSync(dir)
      .map((f) => SEGMENT.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const entries = new Map<number, JournalEntry>();
    for (const n of segments) {
      const file = join(dir, segmentName(n));
      this.size += statSync(file).size;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!line) return;
        let record: { a?: number; c?: number; e?: string; k?: string; b?: string; o?: PublishOptions };
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          // A crash can tear the last line of a segment (each process writes its own); anything else is damage.
          if (i !== lines.length - 1) logger.error({ file, line: i + 1 }, 'outbox journal: unreadable record skipped');
          return;
        }
        if (typeof record.a === 'number' && record.e !== undefined && record.k !== undefined && record.b !== undefined && record.o) {
          entries.set(record.a, { id: record.a, exchange: record.e, routingKey: record.k, body: Buffer.from(record.b, 'base64'), options: record.o });
          this.nextId = Math.max(this.nextId, record.a + 1);
        } else if (typeof record.c === 'number') {
          entries.delete(record.c);
        }
      });
    }
    this.recovered.push(...[...entries.values()].sort((a, b) => a.id - b.id));
    for (const e of this.recovered) this.live.add(e.id);
    this.segment = (segments.at(-1) ?? 0) + 1;
    if (this.recovered.length > 0)
      logger.warn({ entries: this.recovered.length, dir }, 'outbox journal: replaying events a previous process did not get confirmed');
    if (this.live.size === 0) this.deleteSegmentsSync(segments);
  }

  /** Takes `<dir>/lock`, unless a live process holds it. */
  private lock(): boolean {
    const file = join(this.opts.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        this.disabled = true;
        this.opts.logger.error(
          { dir: this.opts.dir, holder },
          'outbox journal: directory in use by another process (or another worker in this one); events are NOT journaled',
        );
        return false;
      }
      unlinkSync(file); // left by a process that died
    }
    return false;
  }

  private deleteSegmentsSync(segments: number[]): void {
    for (const n of segments) unlinkSync(join(this.opts.dir, segmentName(n)));
    this.size = 0;
  }

  /**
   * Journals a message (written and fsynced within the window). Returns its id, or undefined when
   * it was not journaled: the journal is full (its error is logged and counted) or disabled.
   */
  append(exchange: string, routingKey: string, body: Buffer, options: PublishOptions): number | undefined {
    if (!this.enabled) {
      this.notJournaled++;
      return undefined;
    }
    const id = this.nextId;
    let line: string;
    try {
      line = JSON.stringify({ a: id, e: exchange, k: routingKey, b: body.toString('base64'), o: options }) + '\n';
    } catch (err) {
      this.notJournaled++;
      this.opts.logger.error({ err, messageId: options.messageId }, 'outbox journal: message cannot be journaled');
      return undefined;
    }
    const size = Buffer.byteLength(line);
    if (this.size + size > this.opts.maxBytes) {
      this.notJournaled++;
      if (!this.full || this.notJournaled % 1000 === 0) {
        this.opts.logger.error(
          { dir: this.opts.dir, maxBytes: this.opts.maxBytes, notJournaled: this.notJournaled, messageId: options.messageId },
          'outbox journal full (OUTBOX_MAX_BYTES): new events wait in memory only until the journaled ones are confirmed',
        );
      }
      this.full = true;
      return undefined;
    }
    this.nextId++;
    this.live.add(id);
    this.write(line);
    return id;
  }

  /** The broker confirmed (or refused for good) entry `id`: it is not replayed. */
  confirm(id: number): void {
    if (!this.live.delete(id) || !this.enabled) return;
    this.write(`{"c":${id}}\n`);
  }

  private write(line: string): void {
    this.buffer.push(line);
    this.size += Buffer.byteLength(line);
    this.timer ??= setTimeout(() => void this.flush(), this.opts.fsyncIntervalMs);
  }

  /** Writes and fsyncs what is buffered; rotates when nothing journaled is waiting any more. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.writeBuffered());
    return this.writing;
  }

  private async writeBuffered(): Promise<void> {
    if (this.closed) return;
    const data = this.buffer.join('');
    this.buffer = [];
    try {
      if (data) {
        this.handle ??= open(join(this.opts.dir, segmentName(this.segment)), 'a');
        const fh = await this.handle;
        await fh.appendFile(data);
        await fh.sync();
      }
      if (this.live.size === 0 && this.buffer.length === 0 && !this.closed) await this.rotate();
    } catch (err) {
      this.writeErrors++;
      this.opts.logger.error({ err: describeError(err), dir: this.opts.dir }, 'outbox journal: write failed; these events wait in memory only');
    }
  }

  /** Everything journaled is confirmed: drop the segments and start a new one. */
  private async rotate(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close();
    if (this.closed) return;
    const old = readdirSync(this.opts.dir).filter((f) => SEGMENT.test(f));
    this.segment++;
    for (const f of old) await unlink(join(this.opts.dir, f));
    this.size = this.buffer.reduce((n, l) => n + Buffer.byteLength(l), 0);
    if (this.full) this.opts.logger.info({ notJournaled: this.notJournaled }, 'outbox journal has room again');
    this.full = false;
  }

  /**
   * Writes and fsyncs what is buffered at once, synchronously, and releases the directory: for a
   * shutdown, after which the entries still pending are replayed by the next process.
   */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.disabled) {
      const data = this.buffer.join('');
      this.buffer = [];
      this.closed = true;
      try {
        if (data) {
          const fd = openSync(join(this.opts.dir, segmentName(this.segment + 1)), 'a');
          try {
            writeSync(fd, data);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        }
      } catch (err) {
        this.writeErrors++;
        this.opts.logger.error({ err: describeError(err), dir: this.opts.dir }, 'outbox journal: final write failed');
      }
      void this.handle?.then((fh) => fh.close()).catch(() => undefined);
      try {
        unlinkSync(join(this.opts.dir, 'lock'));
      } catch {
        // already gone
      }
    }
    this.closed = true;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
