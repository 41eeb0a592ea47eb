import { parseCommand } from '../../src/commands/parse-command.js';

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
    expect(result.ok && result.command).toMatchObject({ numberId: 42, workerId: '7', sessionId: 'session_42_221700000001', requestId: 'corr-1' });
  });

  it('prefers fields in data over top-level ones and an explicit requestId over the correlation id', () => {
    const result = parse({ action: 'status', numberId: 1, workerId: 'a', requestId: 'top', data: { numberId: 2, workerId: 'b', requestId: 'nested' } }, { correlationId: 'c' });
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
    for (const result of [parseCommand(javaBody, {}, limits), parseCommand(Buffer.from('{}'), { contentType: 'application/x-java-serialized-object' }, limits)]) {
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
});
