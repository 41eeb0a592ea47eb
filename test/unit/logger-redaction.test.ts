import { Writable } from 'node:stream';
import { createLogger, REDACTED } from '../../src/util/logger.js';
import { WorkerError } from '../../src/util/errors.js';
import { MAX_REDACT_DEPTH, MAX_REDACT_NODES, redactSecrets } from '../../src/util/redact.js';

/** A logger writing into an array, and the records it wrote, parsed. */
function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  const logger = createLogger({ level: 'trace', workerId: 'w-test', destination });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  return { logger, lines, records };
}

const SECRET = 'S3CR3T-VALUE';

describe('errors in the logs', () => {
  it('are logged whole: type, message, our code, the stack and the cause chain', () => {
    const { logger, records } = capture();
    logger.error({ err: new WorkerError('STORAGE_UNAVAILABLE', 'cannot write auth/journal/1', { cause: new Error('ECONNRESET') }) }, 'write failed');
    const [rec] = records();
    expect(rec!.err).toMatchObject({
      type: 'WorkerError',
      message: 'cannot write auth/journal/1',
      code: 'STORAGE_UNAVAILABLE',
      cause: { type: 'Error', message: 'ECONNRESET' },
    });
    expect(rec!.err.stack).toMatch(/^WorkerError: cannot write/);
    expect(rec!.err.cause.stack).toMatch(/^Error: ECONNRESET/);
  });
});

describe('log redaction at any depth', () => {
  it('redacts secrets nested five levels deep, and keeps the rest', () => {
    const { logger, lines, records } = capture();
    logger.info({ a: { b: { c: { d: { e: { creds: { noiseKey: SECRET }, qr: SECRET, pairingCode: SECRET, keep: 'visible' } } } } }, top: 1 }, 'deep');
    expect(lines.join('')).not.toContain(SECRET);
    const [rec] = records();
    expect(rec!.a.b.c.d.e).toEqual({ creds: REDACTED, qr: REDACTED, pairingCode: REDACTED, keep: 'visible' });
    expect(rec!).toMatchObject({ top: 1, msg: 'deep', workerId: 'w-test' });
  });

  it('redacts inside arrays, arrays of arrays, and whatever the case of the key', () => {
    const { logger, lines, records } = capture();
    logger.warn({
      list: [{ password: SECRET }, [{ keyPair: { private: Buffer.from(SECRET), public: 'pub' } }], 'plain'],
      Authorization: `Bearer ${SECRET}`,
      headers: { COOKIE: SECRET },
    });
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).not.toContain(Buffer.from(SECRET).toString('base64'));
    const [rec] = records();
    expect(rec!.list).toEqual([{ password: REDACTED }, [{ keyPair: { private: REDACTED, public: 'pub' } }], 'plain']);
    expect(rec!.Authorization).toBe(REDACTED);
    expect(rec!.headers).toEqual({ COOKIE: REDACTED });
  });

  it('survives cycles, and redacts what sits on them', () => {
    const { logger, lines, records } = capture();
    const node: Record<string, unknown> = { name: 'n', secretKey: SECRET };
    node.self = node;
    node.children = [node, { parent: node }];
    logger.info({ node });
    expect(lines.join('')).not.toContain(SECRET);
    const [rec] = records();
    expect(rec!.node).toMatchObject({ name: 'n', secretKey: REDACTED, self: '[Circular]', children: ['[Circular]', { parent: '[Circular]' }] });
    expect(node.secretKey).toBe(SECRET); // the caller's object is not touched
  });

  it("logs an Error with a cause: class, message and the cause's message, with secrets in its fields redacted", () => {
    const { logger, lines, records } = capture();
    class BoomError extends Error {}
    const cause = Object.assign(new Error('socket closed'), { data: { creds: SECRET } });
    const err = Object.assign(new BoomError('could not connect', { cause }), { statusCode: 428, data: { advSecretKey: SECRET, reason: 'stream errored' } });
    logger.error({ err }, 'failed');
    logger.error(new Error('plain failure', { cause: new Error('root cause') }));
    expect(lines.join('')).not.toContain(SECRET);
    const [first, second] = records();
    expect(first!.err).toMatchObject({
      type: 'BoomError',
      message: 'could not connect',
      statusCode: 428,
      data: { advSecretKey: REDACTED, reason: 'stream errored' },
      cause: { message: 'socket closed', data: { creds: REDACTED } },
    });
    expect(first!.err.stack).toMatch(/could not connect/);
    expect(second!).toMatchObject({ msg: 'plain failure', err: { type: 'Error', message: 'plain failure', cause: { message: 'root cause' } } });
    expect(err.data.advSecretKey).toBe(SECRET);
    // The cause is walked too (it is logged whole, its fields included).
    const redacted = redactSecrets({ err }).err as Error & { cause: { data: unknown } };
    expect(redacted).toBeInstanceOf(BoomError);
    expect(redacted.message).toBe('could not connect');
    expect(redacted.cause.data).toEqual({ creds: REDACTED });
  });

  it('tells a media store key (kept) from a WhatsApp media key (secret) by what it holds; counts stay', () => {
    const { logger, lines, records } = capture();
    logger.info({
      command: { mediaKey: 'media/session_6_~2B221771234567/images/ABC.jpg' },
      msg: { message: { imageMessage: { mediaKey: Uint8Array.from(Buffer.from(SECRET)), url: 'https://mmg.whatsapp.net/x', mimetype: 'image/jpeg' } } },
      proto: { mediaKey: Buffer.from(SECRET).toString('base64') },
      keys: 42,
      send: { base64: Buffer.from(SECRET).toString('base64'), type: 'image' },
    });
    const out = lines.join('');
    expect(out).not.toContain(Buffer.from(SECRET).toString('base64'));
    const [rec] = records();
    expect(rec!.command.mediaKey).toBe('media/session_6_~2B221771234567/images/ABC.jpg');
    expect(rec!.msg.message.imageMessage).toEqual({ mediaKey: REDACTED, url: 'https://mmg.whatsapp.net/x', mimetype: 'image/jpeg' });
    expect(rec!.proto.mediaKey).toBe(REDACTED);
    expect(rec!.keys).toBe(42);
    expect(rec!.send).toEqual({ base64: REDACTED, type: 'image' });
  });

  it('redacts child logger bindings too', () => {
    const { logger, lines, records } = capture();
    logger.child({ component: 'baileys', auth: { creds: SECRET } }).info('hello');
    logger
      .child({ component: 'sessions' })
      .child({ sessionId: 's1', nested: { pairingCode: SECRET } })
      .info('grandchild');
    expect(lines.join('')).not.toContain(SECRET);
    const [child, grandchild] = records();
    expect(child).toMatchObject({ component: 'baileys', auth: { creds: REDACTED }, msg: 'hello' });
    expect(grandchild).toMatchObject({ component: 'sessions', sessionId: 's1', nested: { pairingCode: REDACTED }, msg: 'grandchild' });
  });

  it('prints nothing unexamined beyond its depth and node caps', () => {
    let deep: Record<string, unknown> = { password: SECRET };
    for (let i = 0; i < MAX_REDACT_DEPTH + 10; i++) deep = { next: deep };
    const wide = Array.from({ length: MAX_REDACT_NODES + 100 }, (_, i) => ({ i, token: SECRET }));
    const { logger, lines } = capture();
    logger.info({ deep, wide });
    const out = lines.join('');
    expect(out).not.toContain(SECRET);
    expect(out).toContain('[redaction: too deep]');
    expect(out).toContain('[redaction: too large]');
  });

  it('returns a record without secrets as it is (no copy), and primitives unchanged', () => {
    const record = { a: { b: [1, 2, { c: 'x' }] }, at: new Date(0), buf: Buffer.from('abc') };
    expect(redactSecrets(record)).toBe(record);
    for (const v of [undefined, null, 0, 'qr', true]) expect(redactSecrets(v)).toBe(v);
  });

  it('never throws, even on a getter that does', () => {
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('getter exploded');
      },
    });
    expect(redactSecrets({ hostile })).toEqual({ redactionFailed: 'getter exploded' });
  });
});
