import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { RABBITMQ_URL, type Collector } from '../helpers/broker-probe.js';
import { waitFor } from '../helpers/wait.js';

/*
 * A hostile (or merely careless) publisher sends the worker commands with every kind of AMQP
 * property and header it can, including ones amqplib decodes but cannot encode again (a 70 KB
 * header value, a timestamp header of 2^64-1, a nested table with a "!" key). amqplib itself
 * cannot produce some of them (its encoder refuses header tables over 64 KB), so this test speaks
 * AMQP over a raw socket and writes the frames itself. Afterwards the worker must still consume
 * and publish, and every input must be accounted for: dead-lettered, forwarded, or answered.
 */

// ---------------------------------------------------------------------------------------------
// A minimal AMQP 0-9-1 publisher writing its own frames (confirm mode, default exchange).

/** A header value in amqplib's notation: plain JS values, or `{ '!': type, value }`. */
type Typed = { '!': string; value: unknown };

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const shortstr = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 255) throw new Error(`shortstr of ${b.length} bytes`);
  return Buffer.concat([u8(b.length), b]);
};
const longstr = (b: Buffer) => Buffer.concat([u32(b.length), b]);
const tag = (t: string, ...parts: Buffer[]) => Buffer.concat([Buffer.from(t, 'latin1'), ...parts]);

function encodeTyped(type: string, value: unknown): Buffer {
  const num = Number(value);
  const b = Buffer.alloc(8);
  switch (type) {
    case 'timestamp':
      return tag('T', u64(BigInt(value as bigint)));
    case 'int64':
    case 'long':
      b.writeBigInt64BE(BigInt(value as bigint));
      return tag('l', b);
    case 'double':
      b.writeDoubleBE(num);
      return tag('d', b);
    case 'float':
      b.writeFloatBE(num);
      return tag('f', b.subarray(0, 4));
    case 'byte':
      b.writeInt8(num);
      return tag('b', b.subarray(0, 1));
    case 'unsignedbyte':
      return tag('B', u8(num));
    case 'short':
      b.writeInt16BE(num);
      return tag('s', b.subarray(0, 2));
    case 'unsignedshort':
      return tag('u', u16(num));
    case 'int':
      b.writeInt32BE(num);
      return tag('I', b.subarray(0, 4));
    case 'unsignedint':
      return tag('i', u32(num));
    case 'decimal': {
      const d = value as { places: number; digits: number };
      return tag('D', u8(d.places), u32(d.digits));
    }
    default:
      throw new Error(`no such field type: ${type}`);
  }
}

function encodeValue(v: unknown): Buffer {
  if (v === null || v === undefined) return tag('V');
  if (typeof v === 'string') return tag('S', longstr(Buffer.from(v, 'utf8')));
  if (typeof v === 'boolean') return tag('t', u8(v ? 1 : 0));
  if (typeof v === 'bigint') return encodeTyped('int64', v);
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? encodeTyped('int', v) : encodeTyped('double', v);
  if (Buffer.isBuffer(v)) return tag('x', longstr(v));
  if (Array.isArray(v)) {
    const items = Buffer.concat(v.map(encodeValue));
    return tag('A', u32(items.length), items);
  }
  if (typeof v === 'object' && Object.hasOwn(v, '!') && typeof (v as Typed)['!'] === 'string' && Object.hasOwn(v, 'value') && Object.keys(v).length === 2) {
    try {
      return encodeTyped((v as Typed)['!'], (v as Typed).value);
    } catch {
      // A table that merely has a "!" key (a hostile one): sent as a table.
    }
  }
  return tag('F', encodeTable(v as Record<string, unknown>));
}

function encodeTable(table: Record<string, unknown>): Buffer {
  const entries = Object.entries(table).map(([k, v]) => Buffer.concat([shortstr(k), encodeValue(v)]));
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
}

/** Basic properties, in AMQP wire order. */
interface RawProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Record<string, unknown>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: bigint;
  type?: string;
  userId?: string;
  appId?: string;
}

function encodeProperties(p: RawProperties): { flags: number; list: Buffer } {
  const parts: Buffer[] = [];
  let flags = 0;
  const field = (bit: number, present: boolean, encode: () => Buffer) => {
    if (!present) return;
    flags |= 1 << bit;
    parts.push(encode());
  };
  field(15, p.contentType !== undefined, () => shortstr(p.contentType!));
  field(14, p.contentEncoding !== undefined, () => shortstr(p.contentEncoding!));
  field(13, p.headers !== undefined, () => encodeTable(p.headers!));
  field(12, p.deliveryMode !== undefined, () => u8(p.deliveryMode!));
  field(11, p.priority !== undefined, () => u8(p.priority!));
  field(10, p.correlationId !== undefined, () => shortstr(p.correlationId!));
  field(9, p.replyTo !== undefined, () => shortstr(p.replyTo!));
  field(8, p.expiration !== undefined, () => shortstr(p.expiration!));
  field(7, p.messageId !== undefined, () => shortstr(p.messageId!));
  field(6, p.timestamp !== undefined, () => u64(p.timestamp!));
  field(5, p.type !== undefined, () => shortstr(p.type!));
  field(4, p.userId !== undefined, () => shortstr(p.userId!));
  field(3, p.appId !== undefined, () => shortstr(p.appId!));
  return { flags, list: Buffer.concat(parts) };
}

const frame = (type: number, channel: number, payload: Buffer) => Buffer.concat([u8(type), u16(channel), u32(payload.length), payload, u8(0xce)]);
const method = (channel: number, classId: number, methodId: number, ...args: Buffer[]) =>
  frame(1, channel, Buffer.concat([u16(classId), u16(methodId), ...args]));

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

class RawAmqpPublisher {
  private buffer = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private frameMax = 131_072;
  private published = 0;
  private confirmed = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 7) {
        const size = this.buffer.readUInt32BE(3);
        if (this.buffer.length < size + 8) break;
        this.frames.push({ type: this.buffer[0]!, channel: this.buffer.readUInt16BE(1), payload: this.buffer.subarray(7, 7 + size) });
        this.buffer = this.buffer.subarray(size + 8);
      }
      this.wake?.();
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      this.wake?.();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('socket closed')));
  }

  static async connect(url: string): Promise<RawAmqpPublisher> {
    const u = new URL(url);
    const socket = connect({ host: u.hostname, port: Number(u.port || 5672) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawAmqpPublisher(socket);
    try {
      await client.handshake(u);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return client;
  }

  private async handshake(u: URL): Promise<void> {
    const socket = this.socket;
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await this.expect(10, 10); // Connection.Start
    const user = decodeURIComponent(u.username) || 'guest';
    const pass = decodeURIComponent(u.password) || 'guest';
    socket.write(
      method(0, 10, 11, encodeTable({ product: 'hostile-publisher' }), shortstr('PLAIN'), longstr(Buffer.from(`\0${user}\0${pass}`)), shortstr('en_US')),
    );
    const tune = await this.expect(10, 30);
    const serverFrameMax = tune.readUInt32BE(2);
    this.frameMax = serverFrameMax === 0 ? 131_072 : Math.min(serverFrameMax, 131_072);
    socket.write(method(0, 10, 31, u16(tune.readUInt16BE(0)), u32(this.frameMax), u16(0)));
    socket.write(method(0, 10, 40, shortstr(decodeURIComponent(u.pathname.slice(1)) || '/'), shortstr(''), u8(0)));
    await this.expect(10, 41);
    socket.write(method(1, 20, 10, shortstr('')));
    await this.expect(20, 11);
    socket.write(method(1, 85, 10, u8(0))); // Confirm.Select
    await this.expect(85, 11);
  }

  /** The largest content header the broker will take in one frame. */
  get maxHeaderBytes(): number {
    return this.frameMax - 8;
  }

  /** Publishes onto `queue` (default exchange) and resolves once the broker confirmed it. */
  async publish(queue: string, body: Buffer, props: RawProperties): Promise<void> {
    const { flags, list } = encodeProperties(props);
    const header = Buffer.concat([u16(60), u16(0), u64(BigInt(body.length)), u16(flags), list]);
    if (header.length > this.maxHeaderBytes) throw new Error(`content header of ${header.length} bytes does not fit a frame`);
    const out = [method(1, 60, 40, u16(0), shortstr(''), shortstr(queue), u8(0)), frame(2, 1, header)];
    for (let i = 0; i < body.length; i += this.frameMax - 8) out.push(frame(3, 1, body.subarray(i, i + this.frameMax - 8)));
    this.socket.write(Buffer.concat(out));
    const tagNo = ++this.published;
    while (this.confirmed < tagNo) {
      const ack = await this.expect(60, 80);
      this.confirmed = Number(ack.readBigUInt64BE(0));
    }
  }

  /** The arguments of the next method frame with these ids; throws on a close or a nack. */
  private async expect(classId: number, methodId: number): Promise<Buffer> {
    for (;;) {
      const f = this.frames.shift();
      if (f) {
        if (f.type !== 1) continue;
        const c = f.payload.readUInt16BE(0);
        const m = f.payload.readUInt16BE(2);
        const args = f.payload.subarray(4);
        if (c === classId && m === methodId) return args;
        if ((c === 10 && m === 50) || (c === 20 && m === 40)) {
          throw new Error(`broker closed the ${c === 10 ? 'connection' : 'channel'}: ${args.readUInt16BE(0)} ${args.subarray(3, 3 + args[2]!).toString()}`);
        }
        if (c === 60 && m === 120) throw new Error('broker nacked a publish');
        continue;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  async close(): Promise<void> {
    if (!this.failure) {
      this.socket.write(method(0, 10, 50, u16(200), shortstr('bye'), u16(0), u16(0)));
      await this.expect(10, 51).catch(() => undefined);
    }
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// What a hostile publisher sends.

const MAX_UINT64 = 2n ** 64n - 1n;
const FINITE = { noNaN: true, noDefaultInfinity: true } as const;
const MAX_INT64 = 2n ** 63n - 1n;

/** Strings that fit an AMQP shortstr (at most 255 bytes), of every kind of character. */
const shortString = fc
  .oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 255 }))
  .filter((s) => Buffer.byteLength(s) <= 255);

/** Every field type a table can hold, in amqplib's typed notation. */
const typedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX_UINT64 }).map((value) => ({ '!': 'timestamp', value })),
  fc.constant({ '!': 'timestamp', value: MAX_UINT64 }),
  fc.bigInt({ min: -MAX_INT64 - 1n, max: MAX_INT64 }).map((value) => ({ '!': 'int64', value })),
  fc.constant({ '!': 'int64', value: MAX_INT64 }),
  fc.record({ places: fc.nat(255), digits: fc.nat(2 ** 32 - 1) }).map((value) => ({ '!': 'decimal', value })),
  // RabbitMQ (Erlang) cannot hold NaN or an infinity: it closes the publisher's connection.
  fc.float(FINITE).map((value) => ({ '!': 'float', value })),
  fc.double(FINITE).map((value) => ({ '!': 'double', value })),
  fc.integer({ min: -128, max: 127 }).map((value) => ({ '!': 'byte', value })),
  fc.nat(255).map((value) => ({ '!': 'unsignedbyte', value })),
  fc.integer({ min: -32768, max: 32767 }).map((value) => ({ '!': 'short', value })),
  fc.nat(65535).map((value) => ({ '!': 'unsignedshort', value })),
  fc.integer().map((value) => ({ '!': 'int', value })),
  fc.nat(2 ** 32 - 1).map((value) => ({ '!': 'unsignedint', value })),
);

const headerValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    shortString,
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.double(FINITE),
    typedValue,
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(shortString, tie('value'), { maxKeys: 4 }),
    // A table with a "!" key: amqplib reads it back as a typed value it may not know.
    fc.record({
      '!': fc.constantFrom('bogus', 'timestamp', 'decimal', 'int64'),
      value: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.double(FINITE)),
    }),
  ),
})).value;

/** Headers a sender could set, with the ones the worker reads or writes itself over-represented. */
const hostileHeaders = fc.dictionary(
  fc.oneof(
    shortString.filter((k) => k.length > 0),
    fc.constantFrom(
      'x-death',
      'x-forward-hops',
      'x-forwarded-by',
      'x-error-code',
      'x-original-queue',
      'x-delivery-count',
      'traceparent',
      'tracestate',
      '__proto__',
      '!',
      'value',
    ),
  ),
  headerValue,
  { maxKeys: 8 },
);

/** Monsters: what the issue reports, and worse. Generated by name, so a counterexample stays readable. */
const MONSTERS: Record<string, () => Record<string, unknown>> = {
  '70 KB value': () => ({ big: 'x'.repeat(70 * 1024) }),
  'timestamp 2^64-1': () => ({ stamp: { '!': 'timestamp', value: MAX_UINT64 } }),
  '1500 keys (90 KB table)': () => ({ many: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, 'v'.repeat(40)])) }),
  'tables 60 deep': () => ({ deep: Array.from({ length: 60 }).reduce<unknown>((inner) => ({ d: inner }), 'bottom') }),
  '3000 timestamps in an array': () => ({ arr: Array.from({ length: 3000 }, (_, i) => ({ '!': 'timestamp', value: BigInt(i) * 10n ** 15n })) }),
  'forged x-death': () => ({
    'x-death': [{ count: { '!': 'int64', value: MAX_INT64 }, reason: 'rejected', queue: 'x', time: { '!': 'timestamp', value: MAX_UINT64 } }],
  }),
  'table with an unknown "!" type': () => ({ nested: { '!': 'bogus', value: 'amqplib cannot encode this type' } }),
};
const monster = fc.constantFrom(...Object.keys(MONSTERS));

const hostileProperties: fc.Arbitrary<RawProperties> = fc.record(
  {
    contentType: fc.oneof(
      shortString,
      fc.constantFrom('application/json', 'application/x-java-serialized-object', 'text/plain; charset=utf-8', 'application/json\r\nX: y'),
    ),
    contentEncoding: fc.oneof(shortString, fc.constantFrom('gzip', 'utf-8', 'binary')),
    headers: hostileHeaders,
    // The broker itself refuses any other delivery mode.
    deliveryMode: fc.constantFrom(1, 2),
    priority: fc.nat(255),
    correlationId: shortString,
    replyTo: shortString,
    // Long enough never to expire while the test runs (an invalid one closes the publisher's channel).
    expiration: fc.integer({ min: 600_000, max: 2 ** 31 - 1 }).map(String),
    messageId: shortString,
    timestamp: fc.oneof(fc.constant(MAX_UINT64), fc.constant(0n), fc.bigInt({ min: 0n, max: MAX_UINT64 })),
    type: shortString,
    // The broker refuses another user's id; the connection's own one it accepts.
    userId: fc.constant('guest'),
    appId: shortString,
  },
  { requiredKeys: [] },
);

type Input =
  /** Not a command at all: random bytes (dead-lettered). */
  | { kind: 'garbage'; prefix: Uint8Array }
  /** JSON, but not a valid command (dead-lettered). */
  | { kind: 'invalid'; json: Record<string, unknown> }
  /** A well-formed `status` for an unknown session: answered with command_rejected, or forwarded. */
  | { kind: 'command'; workerId: string | undefined };

const input: fc.Arbitrary<Input> = fc.oneof(
  fc.record({ kind: fc.constant('garbage' as const), prefix: fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.constant(Uint8Array.from([0xac, 0xed, 0, 5]))) }),
  fc.record({
    kind: fc.constant('invalid' as const),
    json: fc.oneof(
      fc.record({ action: fc.constantFrom('explode', 'status', 'create', ''), numberId: fc.constantFrom('x', -1, 1.5, '') }),
      fc.record({ action: fc.constant('create'), data: fc.record({ numberId: fc.integer({ min: 1, max: 1000 }), phoneNumber: fc.constant('abc') }) }),
      // Anything but an action: never a command.
      fc.dictionary(
        fc.string({ maxLength: 6 }).filter((k) => k !== 'action'),
        fc.jsonValue({ maxDepth: 2 }),
        { maxKeys: 4 },
      ),
    ),
  }),
  fc.record({ kind: fc.constant('command' as const), workerId: fc.constantFrom(undefined, 'hostile1', 'hostile2') }),
);

function bodyOf(item: Input, marker: string): Buffer {
  switch (item.kind) {
    case 'garbage':
      // The marker ends the body: whatever the prefix, it is never a JSON value.
      return Buffer.concat([Buffer.from(item.prefix), Buffer.from(` ${marker}`)]);
    case 'invalid':
      return Buffer.from(JSON.stringify({ ...item.json, marker }));
    case 'command':
      return Buffer.from(JSON.stringify({ action: 'status', numberId: 424242, requestId: marker, ...(item.workerId ? { workerId: item.workerId } : {}) }));
  }
}

// ---------------------------------------------------------------------------------------------

const OURS_ON_DLQ = [
  'traceparent',
  'tracestate',
  'x-forwarded-by',
  'x-forward-hops',
  'x-error-code',
  'x-error-reason',
  'x-original-queue',
  'x-dead-lettered-at',
];
const OURS_ON_FORWARD = ['traceparent', 'tracestate', 'x-forwarded-by', 'x-forward-hops'];

describe('a hostile publisher cannot stop the worker', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let w: TestWorker;
  let raw: RawAmqpPublisher;
  let dlq: Collector;
  let otherWorker: Collector;
  let sentinels = 0;

  beforeAll(async () => {
    scenario = await brokerScenario('hostile');
    scenario.workerQueue('hostile1');
    // A second worker that is not running: what is forwarded to it waits in its queue, read here.
    const otherQueue = scenario.workerQueue('hostile2');
    await scenario.probe.channel.assertQueue(otherQueue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    otherWorker = await scenario.probe.collect(otherQueue, { declare: false });
    w = await startTestWorker({ env: { ...scenario.env, COMMAND_MAX_ATTEMPTS: '2' }, workerId: 'hostile1' });
    dlq = await scenario.probe.collect(w.config.queues.deadLetter);
    raw = await RawAmqpPublisher.connect(RABBITMQ_URL);
  });

  afterAll(async () => {
    await raw?.close();
    await w?.worker.stop(5000);
    await scenario?.probe.close();
  });

  const dlqHas = (marker: string) => dlq.messages.some((m) => m.raw.content.includes(marker));
  const forwardedHas = (marker: string) => otherWorker.messages.some((m) => m.raw.content.includes(marker));
  const answered = (marker: string) => scenario.events.bodies().some((b) => b?.requestId === marker);
  const accountedFor = (marker: string) => dlqHas(marker) || forwardedHas(marker) || answered(marker);

  /** The worker still consumes both queues and still publishes: a clean command on each gets its answer. */
  async function stillWorks(): Promise<void> {
    const markers = [`sentinel-${++sentinels}-shared`, `sentinel-${sentinels}-own`];
    await scenario.probe.publish(w.config.queues.commands, { action: 'status', numberId: 31337, requestId: markers[0] }, { contentType: 'application/json' });
    await scenario.probe.publish(
      w.config.queues.workerCommands,
      { action: 'status', numberId: 31337, requestId: markers[1] },
      { contentType: 'application/json' },
    );
    for (const marker of markers) {
      const answer = await scenario.events.untilAction('command_rejected', (b) => b.requestId === marker, 10_000);
      expect(answer).toMatchObject({ numberId: 31337, code: 'UNKNOWN_SESSION', command: 'status' });
    }
  }

  /** Every copy the worker published keeps only the headers it owns, each of a type any client can encode. */
  function onlyOurHeaders(): void {
    for (const m of dlq.messages) {
      const headers = m.raw.properties.headers ?? {};
      expect(Object.keys(headers).filter((k) => !OURS_ON_DLQ.includes(k))).toEqual([]);
      for (const v of Object.values(headers)) expect(['string', 'number']).toContain(typeof v);
      expect(m.raw.properties.expiration).toBeUndefined();
      expect(m.raw.properties.replyTo).toBeUndefined();
      expect(m.raw.properties.appId).toBeUndefined();
      expect(m.raw.properties.priority).toBeUndefined();
    }
    for (const m of otherWorker.messages) {
      const headers = m.raw.properties.headers ?? {};
      expect(Object.keys(headers).filter((k) => !OURS_ON_FORWARD.includes(k))).toEqual([]);
      expect(headers['x-forwarded-by']).toBe('hostile1');
      expect(m.raw.properties.expiration).toBeUndefined();
    }
  }

  it('the reported cases (a 70 KB header, a timestamp header of 2^64-1) are dead-lettered or forwarded, and publishing goes on', async () => {
    const cases: Array<{ queue: string; body: (marker: string) => Buffer; headers: Record<string, unknown> }> = [];
    for (const headers of [{ big: 'x'.repeat(70 * 1024) }, { stamp: { '!': 'timestamp', value: MAX_UINT64 } }]) {
      // Garbage: dead-lettered with its properties (it used to be copied wholesale).
      cases.push({ queue: w.config.queues.workerCommands, body: (m) => Buffer.from(`{not json ${m}`), headers });
      // A command for another worker, on the shared queue: forwarded (same story).
      cases.push({
        queue: w.config.queues.commands,
        body: (m) => Buffer.from(JSON.stringify({ action: 'status', numberId: 7, requestId: m, workerId: 'hostile2' })),
        headers,
      });
      // A command for this worker, on the shared queue: forwarded to its own queue, then answered.
      cases.push({ queue: w.config.queues.commands, body: (m) => Buffer.from(JSON.stringify({ action: 'status', numberId: 7, requestId: m })), headers });
    }
    const markers = cases.map(() => `reported-${randomUUID()}`);
    for (const [i, c] of cases.entries())
      await raw.publish(c.queue, c.body(markers[i]!), { headers: c.headers, messageId: markers[i]!, contentType: 'application/json' });

    await stillWorks();
    await waitFor(() => markers.every(accountedFor), 'every reported case to be accounted for');
    expect(markers.filter((m) => dlqHas(m))).toHaveLength(2);
    expect(markers.filter((m) => forwardedHas(m))).toHaveLength(2);
    expect(markers.filter((m) => answered(m))).toHaveLength(2);
    onlyOurHeaders();
    // Nothing had to be dropped: the allow-list made every copy publishable.
    expect(w.worker.publisher.unpublishable).toBe(0);
  });

  it("random and malformed properties and headers, on the shared queue and the worker's own: every input accounted for, and the worker carries on", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(input, hostileProperties, fc.option(monster, { freq: 2 }), fc.boolean()), { minLength: 1, maxLength: 8 }),
        async (batch) => {
          const markers: string[] = [];
          for (const [item, props, monsterName, toShared] of batch) {
            const marker = `hostile-${randomUUID()}`;
            markers.push(marker);
            const headers = monsterName === null ? props.headers : { ...props.headers, ...MONSTERS[monsterName]!() };
            await raw.publish(toShared ? w.config.queues.commands : w.config.queues.workerCommands, bodyOf(item, marker), {
              ...props,
              ...(headers ? { headers } : {}),
            });
          }
          await stillWorks();
          await waitFor(() => markers.every(accountedFor), 'every input to be accounted for', {
            detail: () => `missing: ${markers.filter((m) => !accountedFor(m)).join(', ')}`,
          });
          onlyOurHeaders();
        },
      ),
      { numRuns: 25, endOnFailure: true },
    );
    expect(w.worker.publisher.unpublishable).toBe(0);
    // Whatever is still going out (a late command_rejected) is confirmed: nothing is stuck.
    await waitFor(() => w.worker.publisher.outboxSize === 0, 'the outbox to empty', { detail: () => `${w.worker.publisher.outboxSize} left` });
  });
});
