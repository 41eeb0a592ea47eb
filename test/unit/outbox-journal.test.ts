import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutboxJournal } from '../../src/broker/outbox-journal.js';
import type { PublishOptions } from '../../src/broker/types.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { silentLogger } from '../helpers/silent-logger.js';
import { waitFor } from '../helpers/wait.js';

const options = (messageId: string): PublishOptions => ({
  messageId,
  type: 'qr_generated',
  contentType: 'application/json',
  correlationId: 'req-1',
  headers: { 'x-worker-id': 'w1' },
  timestamp: 1_700_000_000_000,
});

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('segment-'));
const onDisk = (dir: string) =>
  segments(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');

describe('OutboxJournal (the durable outbox on local disk)', () => {
  let dir: string;
  const journals: OutboxJournal[] = [];
  const open = (opts: Partial<Parameters<typeof OutboxJournal.open>[0]> = {}) => {
    const j = OutboxJournal.open({ dir, maxBytes: 1024 * 1024, fsyncIntervalMs: 10_000, logger: silentLogger, ...opts });
    journals.push(j);
    return j;
  };
  /** What a SIGKILL leaves: the files as written, the lock of a process that no longer exists. */
  const crash = async (j: OutboxJournal) => {
    await j.flush();
    writeFileSync(join(dir, 'lock'), '2147483646');
  };

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'outbox-journal-')), 'outbox');
  });

  afterEach(() => {
    for (const j of journals.splice(0)) j.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('appends and, after a restart, replays the unconfirmed entries in order with exchange, routing key, body and properties', async () => {
    const j = open();
    for (let i = 0; i < 5; i++) expect(j.append('whatsapp.events', `session.qr_${i}`, Buffer.from(`{"n":${i}}`), options(`ev-${i}`))).toBeDefined();
    await crash(j);

    const again = open();
    expect(again.recovered.map((e) => e.options.messageId)).toEqual(['ev-0', 'ev-1', 'ev-2', 'ev-3', 'ev-4']);
    expect(again.recovered[3]).toMatchObject({ exchange: 'whatsapp.events', routingKey: 'session.qr_3', options: options('ev-3') });
    expect(again.recovered[3]!.body.toString()).toBe('{"n":3}');
  });

  it('does not replay confirmed entries; ids keep growing across restarts so later confirmations find theirs', async () => {
    const j = open();
    const ids = ['a', 'b', 'c', 'd'].map((m) => j.append('x', 'k', Buffer.from(m), options(m))!);
    j.confirm(ids[0]!);
    j.confirm(ids[2]!);
    await crash(j);

    const second = open();
    expect(second.recovered.map((e) => e.options.messageId)).toEqual(['b', 'd']);
    const e = second.append('x', 'k', Buffer.from('e'), options('e'))!;
    expect(e).toBeGreaterThan(ids[3]!);
    second.confirm(second.recovered[0]!.id); // b, confirmed by the second process
    await crash(second);

    expect(open().recovered.map((r) => r.options.messageId)).toEqual(['d', 'e']);
  });

  it('writes and fsyncs appends together once per window, not one by one', async () => {
    const j = open({ fsyncIntervalMs: 100 });
    j.append('x', 'k', Buffer.from('1'), options('one'));
    j.append('x', 'k', Buffer.from('2'), options('two'));
    expect(onDisk(dir)).toBe(''); // still in the window
    await waitFor(() => onDisk(dir).includes('"two"'), 'the window to be written');
    expect(onDisk(dir).split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('close() writes what is buffered at once, for the next process', () => {
    const j = open({ fsyncIntervalMs: 60_000 });
    j.append('x', 'k', Buffer.from('1'), options('buffered'));
    j.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    expect(open().recovered.map((e) => e.options.messageId)).toEqual(['buffered']);
  });

  it('deletes its segments once everything journaled is confirmed', async () => {
    const j = open();
    const ids = [1, 2, 3].map((n) => j.append('x', 'k', Buffer.alloc(100), options(`m${n}`))!);
    await j.flush();
    expect(j.bytes).toBeGreaterThan(300);
    for (const id of ids) j.confirm(id);
    await j.flush();
    expect(segments(dir)).toEqual([]);
    expect(j.bytes).toBe(0);
    await crash(j);
    expect(open().recovered).toEqual([]);
  });

  it('when full, journals no new entry (logged and counted, never blocking) until the journaled ones are confirmed', async () => {
    const log = recordingLogger('info');
    const j = open({ maxBytes: 1000, logger: log.logger });
    const ids: number[] = [];
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const id = j.append('x', 'k', Buffer.alloc(100), options(`m${i}`));
      if (id === undefined) refused++;
      else ids.push(id);
    }
    expect(ids.length).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(j.notJournaled).toBe(refused);
    expect(j.bytes).toBeLessThanOrEqual(1000);
    expect(log.lines.filter((l) => /outbox journal full/.test(l.msg))).toHaveLength(1);

    for (const id of ids) j.confirm(id);
    await j.flush();
    expect(j.append('x', 'k', Buffer.alloc(100), options('after'))).toBeDefined();
    await crash(j);
    expect(open().recovered.map((e) => e.options.messageId)).toEqual(['after']);
  });

  it('ignores a torn last record (a crash mid-write) and keeps the entries before it', async () => {
    const j = open();
    j.append('x', 'k', Buffer.from('1'), options('whole'));
    await crash(j);
    const [segment] = segments(dir);
    appendFileSync(join(dir, segment!), '{"a":2,"e":"x","k":"k","b":"MQ==","o":{"messageId":"tor');

    const again = open();
    expect(again.recovered.map((e) => e.options.messageId)).toEqual(['whole']);
    const next = again.append('x', 'k', Buffer.from('2'), options('next'));
    expect(next).toBe(2); // the torn entry's id was never given out
    await crash(again);
    expect(open().recovered.map((e) => e.options.messageId)).toEqual(['whole', 'next']);
  });

  it('refuses a directory another live process (or worker in this one) journals into', () => {
    const log = recordingLogger('info');
    open();
    const second = open({ logger: log.logger });
    expect(second.enabled).toBe(false);
    expect(second.append('x', 'k', Buffer.from('1'), options('m'))).toBeUndefined();
    expect(log.lines.some((l) => /in use by another process/.test(l.msg))).toBe(true);
  });
});
