import { parseCommand, type ParseLimits, type ParseResult } from '../../src/commands/parse-command.js';
import { canonicalSessionId, normalisePhone, parseSessionId, phoneDigits, sessionIdFor } from '../../src/commands/session-identity.js';

const limits = { maxBytes: 64 * 1024 };
const parse = (body: unknown, meta = {}) => parseCommand(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), meta, limits);

describe('parseCommand', () => {
  it('accepts the exact shape the backend sends (fields nested in data, ids mixed types)', () => {
    const result = parse({
      sessionId: 6,
      action: 'create',
      data: { numberId: 6, phoneNumber: '+221771234567', sessionId: 'session_6_2533b0aa', workerId: '1' },
      timestamp: 1733396400000,
    });
    expect(result).toEqual({
      ok: true,
      command: {
        action: 'create',
        numberId: 6,
        phoneNumber: '+221771234567',
        sessionId: 'session_6_+221771234567',
        workerId: '1',
        requestId: undefined,
        backendSessionId: 'session_6_2533b0aa',
        issuedAt: 1733396400000,
      },
    });
  });

  it('accepts top-level fields, string numberId, numeric workerId, and the correlation id as requestId', () => {
    const result = parse({ action: 'create', numberId: '42', phoneNumber: '221700000001', workerId: 7 }, { correlationId: 'corr-1' });
    // The phone is canonicalised: "221700000001" is the number "+221700000001", one session.
    expect(result.ok && result.command).toMatchObject({
      numberId: 42,
      workerId: '7',
      phoneNumber: '+221700000001',
      sessionId: 'session_42_+221700000001',
      requestId: 'corr-1',
    });
  });

  it('prefers fields in data over top-level ones and an explicit requestId over the correlation id', () => {
    const result = parse(
      { action: 'status', numberId: 1, workerId: 'a', requestId: 'top', data: { numberId: 2, workerId: 'b', requestId: 'nested' } },
      { correlationId: 'c' },
    );
    expect(result.ok && result.command).toMatchObject({ numberId: 2, workerId: 'b', requestId: 'nested' });
  });

  it('derives numberId and phone from our own session id', () => {
    const result = parse({ action: 'logout', sessionId: 'session_9_+33612345678' });
    expect(result.ok && result.command).toMatchObject({ numberId: 9, phoneNumber: '+33612345678', sessionId: 'session_9_+33612345678' });
  });

  it('reads JSON whatever the content type, and unwraps a JSON string holding JSON (Jackson sending a String)', () => {
    const inner = JSON.stringify({ action: 'status', numberId: 3 });
    const result = parseCommand(Buffer.from(JSON.stringify(inner)), { contentType: 'text/plain' }, limits);
    expect(result.ok && result.command.action).toBe('status');
  });

  it.each([
    ['invalid JSON', '{"action": "create",', 'INVALID_JSON'],
    ['a JSON array', '[1,2]', 'INVALID_COMMAND'],
    ['an unknown action', { action: 'explode', numberId: 1 }, 'UNKNOWN_ACTION'],
    ['a missing action', { numberId: 1 }, 'INVALID_COMMAND'],
    ['create without a phone', { action: 'create', numberId: 1 }, 'INVALID_COMMAND'],
    ['a missing numberId', { action: 'status' }, 'INVALID_COMMAND'],
    ['a negative numberId', { action: 'status', numberId: -4 }, 'INVALID_COMMAND'],
    ['an invalid phone', { action: 'create', numberId: 1, phoneNumber: '+22177abc' }, 'INVALID_PHONE'],
    ['a path trick in the phone', { action: 'create', numberId: 1, phoneNumber: '../../etc/passwd' }, 'INVALID_PHONE'],
    ['a bad workerId', { action: 'status', numberId: 1, workerId: 'a/b' }, 'INVALID_COMMAND'],
    ['__proto__ at the top', '{"action":"status","numberId":1,"__proto__":{"polluted":true}}', 'FORBIDDEN_KEY'],
    ['constructor nested', '{"action":"status","numberId":1,"data":{"constructor":{"prototype":{}}}}', 'FORBIDDEN_KEY'],
    ['an event on the command queue', { action: 'qr_generated', numberId: 1 }, 'MISROUTED_EVENT'],
  ])('rejects %s with %s', (_name, body, code) => {
    const result = parse(body);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.reason.length).toBeGreaterThan(5);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a Java-serialized body, by magic bytes or content type, telling the backend what to configure', () => {
    const javaBody = Buffer.concat([Buffer.from([0xac, 0xed, 0x00, 0x05]), Buffer.from('sr java.util.HashMap')]);
    for (const result of [
      parseCommand(javaBody, {}, limits),
      parseCommand(Buffer.from('{}'), { contentType: 'application/x-java-serialized-object' }, limits),
    ]) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.code).toBe('JAVA_SERIALIZED');
        expect(result.reason).toMatch(/Jackson2JsonMessageConverter/);
      }
    }
  });

  it('rejects an oversized payload before parsing it', () => {
    const result = parseCommand(Buffer.alloc(limits.maxBytes + 1, 0x20), {}, limits);
    expect(!result.ok && result.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('salvages enough of a bad command to address the rejection', () => {
    const result = parse({ action: 'create', data: { numberId: '5', phoneNumber: 'nope', workerId: '2' }, requestId: 'r-9' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.hint).toEqual({ action: 'create', numberId: 5, workerId: '2', requestId: 'r-9' });
  });

  it('salvages the hint of a command refused for a forbidden key, from the one parse', () => {
    const result = parse(
      '{"action":"create","data":{"numberId":"5","phoneNumber":"221771234567","requestId":"r-1"},"x":{"y":{"__proto__":{"polluted":true}}}}',
    );
    expect(result).toEqual({
      ok: false,
      code: 'FORBIDDEN_KEY',
      reason: expect.stringContaining('x.y.__proto__'),
      hint: { action: 'create', numberId: 5, sessionId: 'session_5_+221771234567', requestId: 'r-1' },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

const at = (body: unknown, extra: Partial<ParseLimits> = {}, meta = {}): ParseResult =>
  parseCommand(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), meta, { ...limits, ...extra });
const failure = (r: ParseResult) => (r.ok ? undefined : { code: r.code, reason: r.reason });

describe('parseCommand: bounded cost', () => {
  const deep = (levels: number, inner = '1') => '{"action":"status","numberId":1,"data":{"x":' + '['.repeat(levels) + inner + ']'.repeat(levels) + '}}';

  it('refuses nesting deeper than maxDepth before parsing, as INVALID_JSON naming the nesting', () => {
    expect(at(deep(30), { maxDepth: 32 }).ok).toBe(true); // 2 (object, data) + 30 arrays = 32
    expect(failure(at(deep(31), { maxDepth: 32 }))).toEqual({ code: 'INVALID_JSON', reason: expect.stringMatching(/nesting too deep: more than 32 levels/) });
    expect(failure(at(deep(3), { maxDepth: 4 }))).toEqual({ code: 'INVALID_JSON', reason: expect.stringMatching(/more than 4 levels/) });
  });

  it('defaults the depth guard to 32 when the caller gives none', () => {
    expect(at(deep(30)).ok).toBe(true);
    expect(failure(at(deep(31)))?.code).toBe('INVALID_JSON');
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const tricky = JSON.stringify({ action: 'status', numberId: 1, data: { note: '[[[[{{{{ \\" \\\\" "[[[[' + '['.repeat(100) } });
    expect(at(tricky, { maxDepth: 2 }).ok).toBe(true);
    // An escaped backslash before a quote ends the string: the brackets after it count.
    expect(failure(at('{"a":"x\\\\\\\\",' + '"b":[[[[1]]]]}', { maxDepth: 3 }))?.code).toBe('INVALID_JSON');
  });

  it('survives 1,000,000 levels of nesting (no stack overflow), quickly refused', () => {
    const body = Buffer.from('['.repeat(1_000_000) + ']'.repeat(1_000_000));
    const r = parseCommand(body, {}, { maxBytes: 4 * 1024 * 1024, maxDepth: 32 });
    expect(failure(r)?.code).toBe('INVALID_JSON');
  });

  it('guards the inner JSON of a command encoded twice like the outer one', () => {
    const inner = deep(40);
    expect(failure(at(JSON.stringify(inner)))).toEqual({ code: 'INVALID_JSON', reason: expect.stringMatching(/nesting too deep/) });
    const forbidden = JSON.stringify('{"action":"status","numberId":7,"data":{"constructor":{}}}');
    expect(at(forbidden)).toMatchObject({ ok: false, code: 'FORBIDDEN_KEY', hint: { numberId: 7, action: 'status' } });
    expect(failure(at(JSON.stringify('{"action":')))?.code).toBe('INVALID_JSON');
  });

  it('refuses a body with too many values', () => {
    const many = JSON.stringify({ action: 'status', numberId: 1, data: { x: new Array(100_001).fill(0) } });
    expect(failure(at(many, { maxBytes: 1024 * 1024 }))).toEqual({ code: 'INVALID_COMMAND', reason: expect.stringMatching(/more than 100000 JSON values/) });
  });
});

describe('parseCommand: size, and the base64 media allowance', () => {
  const small = { maxBytes: 2048, maxMediaBytes: 30_000 };
  const b64 = (bytes: number) => Buffer.alloc(bytes, 7).toString('base64');
  const send = (fields: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    JSON.stringify({
      action: 'send_message',
      numberId: 6,
      phoneNumber: '+221771234567',
      requestId: 'r-1',
      ...top,
      data: { to: '+221770000001', type: 'image', mimeType: 'image/png', ...fields },
    });

  it('accepts a send_message whose base64 media makes it larger than maxBytes', () => {
    const body = send({ base64: b64(30_000) });
    expect(body.length).toBeGreaterThan(small.maxBytes * 10);
    const r = at(body, small);
    expect(r.ok && r.command.action === 'send_message' && r.command.message.type === 'image' && r.command.message.media).toEqual({
      kind: 'base64',
      data: Buffer.alloc(30_000, 7),
    });
  });

  it('accepts the media of a send_message encoded twice (a Java String)', () => {
    const r = at(JSON.stringify(send({ base64: b64(20_000) })), small);
    expect(r.ok && r.command.action).toBe('send_message');
  });

  it('still refuses base64 media beyond MEDIA_MAX_BYTES: PAYLOAD_TOO_LARGE past the allowance, MEDIA_TOO_LARGE within it', () => {
    expect(failure(at(send({ base64: b64(40_000) }), small))?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(failure(at(send({ base64: b64(30_003) }), small))?.code).toBe('MEDIA_TOO_LARGE');
  });

  it.each([
    ['a large body without any base64', () => JSON.stringify({ action: 'status', numberId: 1, data: { junk: 'x'.repeat(10_000) } }), /carries no "base64"/],
    ['a large command that is not a send_message', () => JSON.stringify({ action: 'status', numberId: 1, base64: b64(10_000) }), /only a send_message/],
    ['a large string beside a small base64', () => send({ base64: b64(3) }, { junk: 'x'.repeat(10_000) }), /outside its "base64" media/],
    ['a large base64 that is not the one sent (data wins)', () => send({ base64: b64(3) }, { base64: b64(10_000) }), /apart from its "base64" media/],
    ['many values beside a large base64', () => send({ base64: b64(10_000) }, { junk: new Array(2000).fill(0) }), /outside its "base64" media|apart from/],
    ['a large nested base64 key', () => send({ base64: b64(3), extra: { base64: b64(10_000) } }), /apart from its "base64" media/],
  ])('refuses %s as PAYLOAD_TOO_LARGE', (_name, body, reason) => {
    const text = body();
    expect(text.length).toBeGreaterThan(small.maxBytes);
    expect(failure(at(text, small))).toEqual({ code: 'PAYLOAD_TOO_LARGE', reason: expect.stringMatching(reason) });
  });

  it('gives the hint of a large body refused after parsing', () => {
    const r = at(JSON.stringify({ action: 'status', numberId: 4, base64: b64(10_000) }), small);
    expect(r).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE', hint: { numberId: 4, action: 'status' } });
  });
});

describe('parseCommand: STALE', () => {
  const NOW = Date.parse('2025-01-01T12:00:00Z');
  const stale = { maxAgeMs: 3_600_000, maxClockSkewMs: 300_000, now: () => NOW };
  const cmd = (timestamp: unknown, extra: Record<string, unknown> = {}) => ({
    action: 'logout',
    numberId: 6,
    phoneNumber: '221771234567',
    requestId: 'r-7',
    timestamp,
    ...extra,
  });

  it.each([
    ['epoch ms, 2 h old', NOW - 2 * 3_600_000, /issued 2 h ago \(timestamp 2025-01-01T10:00:00.000Z\), older than COMMAND_MAX_AGE_MS \(1 h\)/],
    ['epoch seconds (Jackson Instant), 1 h 1 s old', (NOW - 3_601_000) / 1000, /issued 1 h 1 s ago/],
    ['decimal seconds', (NOW - 7_200_000) / 1000 + 0.123456789, /issued 1 h 59 min 59 s ago/],
    ['an ISO string with Z, a day old', '2024-12-31T12:00:00Z', /issued 1 d ago/],
    ['an ISO string with an offset', '2025-01-01T10:00:00+00:00', /issued 2 h ago/],
    ['digits in a string', String(NOW - 4_000_000), /issued 1 h 6 min 40 s ago/],
    ['10 min in the future', NOW + 600_000, /10 min in the future .*COMMAND_MAX_CLOCK_SKEW_MS \(5 min\)/],
    ['far in the future (seconds)', NOW / 1000 + 86_400, /1 d in the future/],
  ])('rejects a command carrying %s, with the full hint', (_name, timestamp, reason) => {
    const r = at(cmd(timestamp), stale);
    expect(r).toEqual({
      ok: false,
      code: 'STALE',
      reason: expect.stringMatching(reason),
      hint: { action: 'logout', numberId: 6, sessionId: 'session_6_+221771234567', requestId: 'r-7' },
    });
  });

  it.each([
    ['fresh epoch ms', NOW - 3_599_000, NOW - 3_599_000],
    ['exactly at the age limit', NOW - 3_600_000, NOW - 3_600_000],
    ['fresh seconds, read as ms', NOW / 1000 - 10, NOW - 10_000],
    ['within the clock skew', NOW + 300_000, NOW + 300_000],
    ['an ISO string with Z', '2025-01-01T11:30:00.000Z', NOW - 1_800_000],
  ])('accepts %s and reports issuedAt in epoch ms', (_name, timestamp, issuedAt) => {
    const r = at(cmd(timestamp), stale);
    expect(r.ok && r.command.issuedAt).toBe(issuedAt);
  });

  it('does not judge what names no instant: no timestamp, 0 (an unset Java long), a date without offset, garbage', () => {
    for (const timestamp of [undefined, 0, '2020-01-01T00:00:00', 'yesterday']) {
      expect(at(cmd(timestamp), stale).ok).toBe(true);
    }
  });

  it('judges a timestamp nested in data, which wins over the top level', () => {
    expect(failure(at({ ...cmd(NOW), data: { timestamp: NOW - 86_400_000 } }, stale))?.code).toBe('STALE');
    expect(at({ ...cmd(NOW - 86_400_000), data: { timestamp: NOW } }, stale).ok).toBe(true);
  });

  it('has no age limit when maxAgeMs is 0 or absent, and no future limit when maxClockSkewMs is absent', () => {
    const old = cmd(NOW - 365 * 86_400_000);
    expect(at(old, { ...stale, maxAgeMs: 0 }).ok).toBe(true);
    expect(at(old, { now: () => NOW }).ok).toBe(true);
    expect(at(cmd(NOW + 86_400_000), { maxAgeMs: 3_600_000, now: () => NOW }).ok).toBe(true);
    expect(failure(at(cmd(NOW + 86_400_000), { maxClockSkewMs: 0, now: () => NOW }))?.code).toBe('STALE');
  });

  it('judges a send_message too, and keeps its requestId in the hint', () => {
    const r = at(
      { action: 'send_message', numberId: 6, requestId: 'send-1', to: '+221770000001', type: 'text', text: 'hi', timestamp: NOW - 7_200_000 },
      stale,
    );
    expect(r).toMatchObject({ ok: false, code: 'STALE', hint: { numberId: 6, requestId: 'send-1', action: 'send_message' } });
  });
});

describe('one canonical phone, one session', () => {
  it.each([
    '+221771234567',
    '221771234567',
    '00221771234567',
    '+221 77 123 45 67',
    '(221) 77-123-4567',
    ' +221.77.123.45.67 ',
    '+221\u00a077\u00a0123\u00a045\u00a067',
  ])('%j is +221771234567, session_6_+221771234567', (phoneNumber) => {
    expect(normalisePhone(phoneNumber)).toBe('+221771234567');
    const r = at({ action: 'create', numberId: 6, phoneNumber });
    expect(r.ok && r.command).toMatchObject({ phoneNumber: '+221771234567', sessionId: 'session_6_+221771234567' });
  });

  it.each([
    '0771234567',
    '+0221771234567',
    '000221771234567',
    '011221771234567',
    '+22177123456789012',
    '12345',
    '221+771234567',
    '+221 77 123 45 67 ext 2',
    '٢٢١٧٧١٢٣٤٥٦٧',
    '1'.repeat(70),
  ])('refuses %j as INVALID_PHONE', (phoneNumber) => {
    expect(() => normalisePhone(phoneNumber)).toThrow(expect.objectContaining({ code: 'INVALID_PHONE' }));
    // The schema refuses a phoneNumber over 32 characters before it is read.
    expect(failure(at({ action: 'create', numberId: 6, phoneNumber }))?.code).toBe(phoneNumber.length > 32 ? 'INVALID_COMMAND' : 'INVALID_PHONE');
  });

  it('maps a non-canonical session id to the canonical one', () => {
    expect(parseSessionId('session_6_221771234567')).toEqual({ numberId: 6, phoneNumber: '+221771234567' });
    expect(parseSessionId('session_06_00221771234567')).toEqual({ numberId: 6, phoneNumber: '+221771234567' });
    expect(canonicalSessionId('session_6_221771234567')).toBe('session_6_+221771234567');
    expect(canonicalSessionId('session_6_+221771234567')).toBe('session_6_+221771234567');
    for (const other of [
      'session_6_2533b0aa',
      'session_6_0771234567',
      'session_6_+22 1771234567',
      'session_6_',
      'session__+221771234567',
      'xsession_6_+221771234567',
    ]) {
      expect(parseSessionId(other)).toBeUndefined();
    }
    const r = at({ action: 'logout', sessionId: 'session_6_221771234567' });
    expect(r.ok && r.command).toMatchObject({ numberId: 6, phoneNumber: '+221771234567', sessionId: 'session_6_+221771234567', backendSessionId: undefined });
  });

  it('names a session the same whatever spelling sessionIdFor is given; phoneDigits drops the +', () => {
    expect(sessionIdFor(6, '00221771234567')).toBe('session_6_+221771234567');
    expect(sessionIdFor(6, '+221771234567')).toBe('session_6_+221771234567');
    expect(() => sessionIdFor(6, '../x')).toThrow(expect.objectContaining({ code: 'INVALID_PHONE' }));
    expect(phoneDigits('+221771234567')).toBe('221771234567');
  });

  it('addresses the rejection of a bad command by the canonical session', () => {
    const r = at({ action: 'explode', data: { sessionId: 'session_6_00221771234567' } });
    expect(r).toMatchObject({ ok: false, code: 'UNKNOWN_ACTION', hint: { sessionId: 'session_6_+221771234567' } });
  });
});
