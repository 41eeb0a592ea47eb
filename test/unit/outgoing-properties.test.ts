import fc from 'fast-check';
import type { Delivery } from '../../src/broker/types.js';
import {
  bareDeadLetterProperties,
  commandProperties,
  deadLetterProperties,
  forwardHops,
  FORWARDED_TO_OWNER_HEADER,
  forwardProperties,
  MAX_FORWARD_HOPS,
  MAX_REASON_LENGTH,
  truncate,
} from '../../src/broker/outgoing-properties.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const delivery = (over: Partial<Delivery> = {}): Delivery => ({
  queue: 'q',
  body: Buffer.from('{}'),
  contentType: undefined,
  correlationId: undefined,
  messageId: undefined,
  type: undefined,
  headers: {},
  userId: undefined,
  redelivered: false,
  deliveryCount: undefined,
  ...over,
});

const why = { code: 'INVALID_JSON', reason: 'payload is not valid JSON', originalQueue: 'whatsapp.session.update', now: new Date(0) };
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

/** Every header value amqplib can decode: the shapes a hostile publisher can make us hold. */
const headerValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ '!': 'timestamp', value: Number(v) })),
    fc.record({ places: fc.nat(255), digits: fc.nat() }).map((value) => ({ '!': 'decimal', value })),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('outgoing properties: an allow-list of fields we own', () => {
  it('dead-letter: drops every header not on the list and bounds every kept one, whatever the sender sent', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 20 }), headerValue, { maxKeys: 12 }),
        fc.record({
          messageId: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
          correlationId: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
          type: fc.option(fc.string(), { nil: undefined }),
          contentType: fc.option(fc.string(), { nil: undefined }),
        }),
        fc.string({ maxLength: 5000 }),
        (headers, props, reason) => {
          const out = deadLetterProperties(delivery({ ...props, headers }), { ...why, reason });
          for (const key of Object.keys(out.headers!)) expect(OURS_ON_DLQ).toContain(key);
          expect(out.messageId.length).toBeLessThanOrEqual(200);
          expect(Buffer.byteLength(out.messageId)).toBeLessThan(256);
          if (out.correlationId !== undefined) expect(Buffer.byteLength(out.correlationId)).toBeLessThan(256);
          expect(out.type.length).toBeLessThanOrEqual(64);
          expect(out.contentType.length).toBeLessThanOrEqual(128);
          expect(String(out.headers!['x-error-reason']).length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
          expect(out.timestamp).toBeUndefined();
          expect(out.userId).toBeUndefined();
          for (const value of Object.values(out.headers!)) expect(['string', 'number']).toContain(typeof value);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('dead-letter: keeps sound ids, type, content type and trace context, and says why', () => {
    const out = deadLetterProperties(
      delivery({
        messageId: 'm-1',
        correlationId: 'corr-1',
        type: 'create',
        contentType: 'application/json; charset=utf-8',
        headers: {
          traceparent: TRACEPARENT,
          tracestate: 'congo=t61rcWkgMzE',
          'x-forwarded-by': 'w1',
          'x-forward-hops': 2,
          'x-death': [{ count: 1 }],
          'x-error-code': 'FORGED',
          expiration: '0',
          other: 'x',
        },
      }),
      why,
    );
    expect(out).toEqual({
      messageId: 'm-1',
      correlationId: 'corr-1',
      type: 'create',
      contentType: 'application/json; charset=utf-8',
      headers: {
        traceparent: TRACEPARENT,
        tracestate: 'congo=t61rcWkgMzE',
        'x-forwarded-by': 'w1',
        'x-forward-hops': 2,
        'x-error-code': 'INVALID_JSON',
        'x-error-reason': 'payload is not valid JSON',
        'x-original-queue': 'whatsapp.session.update',
        'x-dead-lettered-at': '1970-01-01T00:00:00.000Z',
      },
    });
  });

  it('replaces or drops what is out of bounds: a fresh message id, no correlation id, our own type and content type', () => {
    const out = deadLetterProperties(
      delivery({
        messageId: 'x'.repeat(201),
        correlationId: 'é'.repeat(150), // 150 characters, but 300 bytes: no AMQP shortstr
        type: 'not a type!',
        contentType: 'text/plain\r\nX-Injected: 1',
        headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01', tracestate: 'x'.repeat(513) },
      }),
      { ...why, reason: 'r'.repeat(70_000) },
    );
    expect(out.messageId).toMatch(/^dlq-[0-9a-f-]{36}$/);
    expect(out.correlationId).toBeUndefined();
    expect(out.type).toBe('dead-letter');
    expect(out.contentType).toBe('application/octet-stream');
    expect(out.headers).not.toHaveProperty('traceparent');
    expect(out.headers).not.toHaveProperty('tracestate');
    expect(out.headers!['x-error-reason']).toBe(`${'r'.repeat(MAX_REASON_LENGTH - 1)}…`);
  });

  it('does not read headers smuggled in through a __proto__ table', () => {
    const headers = JSON.parse(`{"__proto__": {"x-forward-hops": 7, "traceparent": "${TRACEPARENT}"}}`) as Record<string, unknown>;
    const smuggled = Object.create({ 'x-forward-hops': 7, traceparent: TRACEPARENT }) as Record<string, unknown>;
    for (const h of [headers, smuggled]) {
      expect(forwardHops({ headers: h })).toBe(0);
      expect(forwardProperties(delivery({ headers: h }), { forwardedBy: 'w1', action: 'create' }).headers).toEqual({
        'x-forwarded-by': 'w1',
        'x-forward-hops': 1,
      });
    }
  });

  it('forward: only trace context and our routing headers, with the hop count incremented', () => {
    const out = forwardProperties(
      delivery({
        messageId: 'm-2',
        type: 'create',
        headers: { 'x-forward-hops': 3, 'x-forwarded-by': 'w0', traceparent: TRACEPARENT, big: 'x'.repeat(70_000), ts: { '!': 'timestamp', value: 2 ** 64 } },
      }),
      { forwardedBy: 'w1', action: 'create' },
    );
    expect(out).toEqual({
      messageId: 'm-2',
      type: 'create',
      contentType: 'application/json',
      correlationId: undefined,
      headers: { traceparent: TRACEPARENT, 'x-forwarded-by': 'w1', 'x-forward-hops': 4 },
    });
    expect(forwardProperties(delivery({ type: '' }), { forwardedBy: 'w1', action: 'status' })).toMatchObject({
      type: 'status',
      messageId: expect.stringMatching(/^fwd-/),
    });
  });

  it("forward to the worker driving the session: says so in x-forwarded-to-owner, never copies a sender's one", () => {
    const forged = delivery({ headers: { [FORWARDED_TO_OWNER_HEADER]: 'w9', 'x-forward-hops': MAX_FORWARD_HOPS } });
    expect(forwardProperties(forged, { forwardedBy: 'w1', action: 'create' }).headers).toEqual({ 'x-forwarded-by': 'w1', 'x-forward-hops': MAX_FORWARD_HOPS });
    expect(forwardProperties(forged, { forwardedBy: 'w1', action: 'create', toOwner: 'w2' }).headers).toEqual({
      'x-forwarded-by': 'w1',
      'x-forward-hops': MAX_FORWARD_HOPS,
      [FORWARDED_TO_OWNER_HEADER]: 'w2',
    });
  });

  it('forwardHops reads a small non-negative integer and nothing else', () => {
    const hops = (value: unknown) => forwardHops({ headers: { 'x-forward-hops': value } });
    expect(hops(undefined)).toBe(0);
    expect(hops(0)).toBe(0);
    expect(hops(5)).toBe(5);
    expect(hops('5')).toBe(5);
    expect(hops(10_000)).toBe(MAX_FORWARD_HOPS);
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 64, '-1', '1e3', ' 5', 'five', null, true, {}, [3], { '!': 'timestamp', value: 3 }])
      expect(hops(bad)).toBe(0);
    fc.assert(
      fc.property(headerValue, (v) => {
        const n = hops(v);
        expect(Number.isInteger(n) && n >= 0 && n <= MAX_FORWARD_HOPS).toBe(true);
      }),
    );
  });

  it('bare dead-letter: nothing but our error headers', () => {
    const out = bareDeadLetterProperties({ code: 'INVALID_JSON', reason: 'bad' });
    expect(out).toEqual({
      messageId: expect.stringMatching(/^dlq-/),
      type: 'dead-letter',
      contentType: 'application/octet-stream',
      headers: { 'x-error-code': 'INVALID_JSON', 'x-error-reason': 'bad' },
    });
    expect(bareDeadLetterProperties({ code: 'not a code', reason: '' }).headers!['x-error-code']).toBe('INTERNAL');
  });

  it('worker-to-worker commands carry our user id and a bounded correlation id', () => {
    expect(commandProperties({ messageId: 'id-1', action: 'release', correlationId: 'r-1', sentBy: 'w1', userId: 'svc' })).toEqual({
      messageId: 'id-1',
      type: 'release',
      contentType: 'application/json',
      correlationId: 'r-1',
      headers: { 'x-sent-by': 'w1' },
      userId: 'svc',
    });
    expect(
      commandProperties({ messageId: 'id-1', action: 'release', correlationId: '€'.repeat(100), sentBy: 'w1', userId: 'svc' }).correlationId,
    ).toBeUndefined();
  });

  it('truncate keeps whole code points', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('😀😀😀', 4)).toBe('😀…');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), fc.integer({ min: 2, max: 40 }), (s, max) => {
        const t = truncate(s, max);
        if (s.length <= max) expect(t).toBe(s);
        else expect(t.length).toBeLessThanOrEqual(max);
        expect(Buffer.from(t, 'utf8').toString('utf8')).toBe(t); // no lone surrogate
      }),
    );
  });
});
