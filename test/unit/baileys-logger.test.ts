import { Writable } from 'node:stream';
import { createLogger } from '../../src/util/logger.js';
import { baileysLogger, isExpectedRestart } from '../../src/whatsapp/baileys-logger.js';

/** A worker logger writing into an array at `level`, and the records it wrote, parsed. */
function capture(level = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  const logger = createLogger({ level, workerId: 'w-test', destination });
  return { logger, records: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

/** Exactly what Baileys logs on a `<stream:error>` (Socket/socket.js, `CB:stream:error`). */
const streamError = (attrs: Record<string, string>, content?: unknown[]) => {
  const node = { tag: 'stream:error', attrs, ...(content ? { content } : {}) };
  return { reasonNode: content?.[0], fullErrorNode: node };
};

describe('the logger handed to Baileys', () => {
  it('logs the expected 515 restart at info, not error', () => {
    const { logger, records } = capture();
    baileysLogger(logger.child({ component: 'baileys' }))
      .child({ class: 'baileys' })
      .error(streamError({ code: '515' }), 'stream errored out');
    expect(records()).toEqual([
      expect.objectContaining({ level: 30, component: 'baileys', class: 'baileys', statusCode: 515, msg: expect.stringContaining('restart required (515)') }),
    ]);
  });

  it("hides it entirely at the demo's level (warn)", () => {
    const { logger, records } = capture('warn');
    baileysLogger(logger).error(streamError({ code: '515' }), 'stream errored out');
    expect(records()).toEqual([]);
  });

  it('keeps every other stream error, and every other error, at error level and unchanged', () => {
    const { logger, records } = capture('warn');
    const log = baileysLogger(logger);
    log.error(streamError({}, [{ tag: 'conflict', attrs: { type: 'replaced' } }]), 'stream errored out');
    log.error(streamError({ code: '503' }), 'stream errored out');
    log.error(streamError({ code: '5150' }), 'stream errored out');
    log.error({ fullErrorNode: { tag: 'failure', attrs: { code: '515' } } }, 'stream errored out');
    log.error(streamError({ code: '515' }), 'error in handling message');
    log.error({ err: new Error('boom') }, "unexpected error in 'x'");
    const recs = records();
    expect(recs.map((r) => r.level)).toEqual([50, 50, 50, 50, 50, 50]);
    expect(recs[0]).toMatchObject({ msg: 'stream errored out', fullErrorNode: { tag: 'stream:error', content: [{ tag: 'conflict' }] } });
    expect(recs[1]).toMatchObject({ msg: 'stream errored out', fullErrorNode: { attrs: { code: '503' } } });
    expect(recs[4]).toMatchObject({ msg: 'error in handling message' });
  });

  it("passes the other levels through, and reads and sets the wrapped logger's level", () => {
    const { logger, records } = capture('debug');
    const log = baileysLogger(logger);
    expect(log.level).toBe('debug');
    log.trace({ a: 0 }, 'not at debug');
    log.debug({ a: 1 }, 'd');
    log.info({ a: 2 }, 'i');
    log.warn({ a: 3 }, 'w');
    log.info('text only');
    log.level = 'trace';
    expect(logger.level).toBe('trace');
    log.trace({ a: 4 }, 't');
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      [20, 'd'],
      [30, 'i'],
      [40, 'w'],
      [30, 'text only'],
      [10, 't'],
    ]);
  });

  it("isExpectedRestart: only Baileys' stream-error record with code 515", () => {
    expect(isExpectedRestart(streamError({ code: '515' }), 'stream errored out')).toBe(true);
    expect(isExpectedRestart(streamError({ code: '515' }), 'other')).toBe(false);
    expect(isExpectedRestart(streamError({ code: '401' }), 'stream errored out')).toBe(false);
    expect(isExpectedRestart(null, 'stream errored out')).toBe(false);
    expect(isExpectedRestart('stream errored out', undefined)).toBe(false);
  });
});
