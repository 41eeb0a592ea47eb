import fc from 'fast-check';
import { parseCommand, type ParseLimits, type ParseResult } from '../../src/commands/parse-command.js';
import { COMMAND_ACTIONS, SESSION_ACTIONS } from '../../src/commands/command.js';
import { CANONICAL_PHONE } from '../../src/commands/session-identity.js';
import { ERROR_CODES } from '../../src/util/errors.js';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const limits: ParseLimits = { maxBytes: 64 * 1024, maxMediaBytes: 4096, maxDepth: 32, maxAgeMs: 3_600_000, maxClockSkewMs: 300_000, now: () => NOW };
const parseText = (text: string, meta = {}, l: ParseLimits = limits) => parseCommand(Buffer.from(text), meta, l);
const parseValue = (value: unknown, meta = {}, l: ParseLimits = limits) => parseText(JSON.stringify(value), meta, l);

const SESSION_ID = /^session_[0-9]{1,16}_\+[1-9][0-9]{5,14}$/;

/** What must hold of every result, whatever went in. */
function expectWellFormed(result: ParseResult): void {
  if (result.ok) {
    const { command } = result;
    expect(COMMAND_ACTIONS).toContain(command.action);
    expect(Number.isSafeInteger(command.numberId) && command.numberId >= 0).toBe(true);
    if (command.phoneNumber !== undefined) expect(command.phoneNumber).toMatch(CANONICAL_PHONE);
    if (command.sessionId !== undefined) {
      expect(command.sessionId).toMatch(SESSION_ID);
      expect(command.sessionId).toBe(`session_${command.numberId}_${command.phoneNumber}`);
    }
  } else {
    expect(ERROR_CODES).toContain(result.code);
    expect(typeof result.reason).toBe('string');
    expect(result.reason.length).toBeGreaterThan(0);
    if (result.hint.sessionId !== undefined) expect(result.hint.sessionId).toMatch(SESSION_ID);
  }
}

// Phones as people and systems write them.
const e164 = fc
  .tuple(fc.integer({ min: 1, max: 9 }), fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 5, maxLength: 14 }))
  .map(([first, rest]) => `${first}${rest}`);
const separator = fc.constantFrom('', ' ', '-', '.', '\u00a0', '\t');
const spelling = (digits: string) =>
  fc
    .record({
      prefix: fc.constantFrom('+', '00', '', '+ '),
      seps: fc.array(separator, { minLength: digits.length, maxLength: digits.length }),
      parens: fc.boolean(),
    })
    .map(({ prefix, seps, parens }) => {
      const body = [...digits].map((d, i) => d + seps[i]).join('');
      const spelt = parens && digits.length > 4 ? `(${body.slice(0, 3)}) ${body.slice(3)}` : body;
      // The schema takes at most 32 characters: a spelling too long for it keeps the prefix only.
      const full = `${prefix}${spelt}`;
      return full.length <= 32 ? full : `${prefix}${digits}`;
    });
const anyPhone = fc.oneof(
  { arbitrary: e164.chain(spelling), weight: 4 },
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...'+0123456789 ()-.'), maxLength: 24 }),
);
/** Mostly valid, sometimes not: so that both ok results and every kind of refusal come up. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: other, weight: 1 });
const numberIdField = mostly(
  fc.oneof(fc.nat(), fc.nat().map(String)),
  fc.oneof(fc.integer({ min: -5, max: -1 }), fc.double(), fc.string({ maxLength: 16 }), fc.constant(Number.MAX_SAFE_INTEGER + 2)),
);
const timestampField = mostly(
  fc.integer({ min: -300_000, max: 3_600_000 }).map((age) => NOW - age),
  fc.oneof(
    fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }).map((d) => NOW + d),
    fc.integer({ min: -3 * 86_400, max: 3 * 86_400 }).map((d) => NOW / 1000 + d),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.string({ maxLength: 30 }),
    fc.double(),
  ),
);
const commandLike = fc.record(
  {
    action: mostly(fc.constantFrom(...COMMAND_ACTIONS), fc.oneof(fc.constantFrom('qr_generated', 'explode'), fc.string({ maxLength: 10 }))),
    numberId: numberIdField,
    phoneNumber: anyPhone,
    sessionId: fc.oneof(
      fc.nat(),
      fc.string({ maxLength: 30 }),
      fc.tuple(fc.nat({ max: 999 }), e164.chain(spelling)).map(([n, p]) => `session_${n}_${p}`),
    ),
    workerId: mostly(fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/), fc.oneof(fc.string({ maxLength: 10 }), fc.nat())),
    requestId: mostly(fc.string({ minLength: 1, maxLength: 20 }), fc.constant('')),
    timestamp: timestampField,
    to: mostly(e164, fc.string({ maxLength: 20 })),
    type: fc.constantFrom('text', 'text', 'image', 'document', 'sticker'),
    text: mostly(fc.string({ minLength: 1, maxLength: 20 }), fc.constant('')),
    base64: fc.base64String({ maxLength: 200 }),
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);

describe('parseCommand, property-based', () => {
  it('never throws on arbitrary JSON values: ok with a canonical phone, or a known error code', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expectWellFormed(parseValue(value));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, however they start', () => {
    fc.assert(
      fc.property(fc.constantFrom('', '{', '[', '"', '{"action":"status","numberId":1,', '\xac\xed'), fc.uint8Array({ maxLength: 512 }), (prefix, bytes) => {
        expectWellFormed(parseCommand(Buffer.concat([Buffer.from(prefix, 'latin1'), bytes]), {}, limits));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on command-like objects, fields at the top, in data, or encoded twice', () => {
    fc.assert(
      fc.property(
        commandLike,
        commandLike,
        fc.constantFrom('plain', 'twice'),
        fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
        (top, data, encoding, correlationId) => {
          const text = JSON.stringify({ ...top, data });
          const result = parseText(encoding === 'twice' ? JSON.stringify(text) : text, { correlationId });
          expectWellFormed(result);
          // Encoding a command twice (a Java String) changes nothing.
          if (encoding === 'plain') expect(parseText(JSON.stringify(text), { correlationId })).toEqual(result);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('round-trips: any valid command, however the phone and ids are spelt, parses to the same number, canonical phone and action', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SESSION_ACTIONS),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.boolean(),
        e164.chain((digits) => fc.tuple(fc.constant(digits), spelling(digits))),
        fc.constantFrom('top', 'data'),
        fc.option(fc.string({ minLength: 1, maxLength: 50 }), { nil: undefined }),
        fc.integer({ min: -300_000, max: 3_600_000 }),
        (action, numberId, idAsString, [digits, phoneNumber], where, requestId, age) => {
          const fields = {
            numberId: idAsString && numberId < 1e15 ? String(numberId) : numberId,
            phoneNumber,
            ...(requestId ? { requestId } : {}),
            timestamp: NOW - age,
          };
          const result = parseValue(where === 'top' ? { action, ...fields } : { action, data: fields });
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.command).toMatchObject({
            action,
            numberId,
            phoneNumber: `+${digits}`,
            sessionId: `session_${numberId}_+${digits}`,
            requestId,
            issuedAt: NOW - age,
          });
          // A command naming the session by our own (canonical) id reaches the same session.
          const byId = parseValue({ action, sessionId: result.command.sessionId });
          expect(byId.ok && byId.command).toMatchObject({ numberId, phoneNumber: `+${digits}`, sessionId: result.command.sessionId });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is STALE exactly when older than maxAgeMs or further ahead than maxClockSkewMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 }), fc.constantFrom('ms', 'iso'), (age, form) => {
        const issued = NOW - age;
        const timestamp = form === 'ms' ? issued : new Date(issued).toISOString();
        const result = parseValue({ action: 'status', numberId: 3, phoneNumber: '+221771234567', timestamp });
        const stale = age > limits.maxAgeMs! || -age > limits.maxClockSkewMs!;
        if (stale) expect(result).toMatchObject({ ok: false, code: 'STALE', hint: { numberId: 3, sessionId: 'session_3_+221771234567' } });
        else expect(result.ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a forbidden key at any depth of any object, with FORBIDDEN_KEY', () => {
    const PLACEHOLDER = '\u0001FORBIDDEN\u0001';
    const withKeyAt = (value: unknown, path: number[], key: string): unknown => {
      if (typeof value === 'object' && value !== null && path.length > 0) {
        const entries = Array.isArray(value) ? value : Object.values(value);
        if (entries.length > 0) {
          const i = path[0]! % entries.length;
          const k = Array.isArray(value) ? i : Object.keys(value)[i]!;
          return Array.isArray(value)
            ? value.map((v, j) => (j === k ? withKeyAt(v, path.slice(1), key) : v))
            : { ...value, [k]: withKeyAt((value as Record<string, unknown>)[k], path.slice(1), key) };
        }
      }
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value, [PLACEHOLDER]: 1 } : { [PLACEHOLDER]: value ?? null };
    };
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom('__proto__', 'constructor', 'prototype'),
        (base, path, key) => {
          const text = JSON.stringify(withKeyAt({ action: 'status', numberId: 1, ...base }, path, key)).replace(
            JSON.stringify(PLACEHOLDER),
            JSON.stringify(key),
          );
          const result = parseText(text);
          expect(result).toMatchObject({ ok: false, code: 'FORBIDDEN_KEY' });
          expect(({} as Record<string, unknown>)[PLACEHOLDER]).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses nesting beyond the limit as INVALID_JSON, never with a stack overflow, up to 100,000 levels', () => {
    const opener = fc.constantFrom('[', '{"a":', '[{"b":', ' [ ');
    fc.assert(
      fc.property(
        fc.integer({ min: 33, max: 100_000 }),
        fc.array(opener, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('plain', 'twice'),
        (levels, openers, encoding) => {
          let open = '';
          let close = '';
          for (let depth = 0, i = 0; depth < levels; i++) {
            const o = openers[i % openers.length]!;
            open += o;
            close = (o === '[{"b":' ? '}]' : o.includes('{') ? '}' : ']') + close;
            depth += o === '[{"b":' ? 2 : 1;
          }
          const text = `${open}1${close}`;
          const body = encoding === 'twice' ? JSON.stringify(`{"x":${text}}`) : text;
          const result = parseText(body, {}, { ...limits, maxBytes: 4 * 1024 * 1024 });
          expect(result).toMatchObject({ ok: false, code: 'INVALID_JSON', reason: expect.stringMatching(/nesting too deep/) });
        },
      ),
      {
        numRuns: 40,
        examples: [
          [100_000, ['['], 'plain'],
          [100_000, ['{"a":'], 'twice'],
        ],
      },
    );
  });

  it('accepts base64 media up to MEDIA_MAX_BYTES above maxBytes, and nothing else that large', () => {
    const small: ParseLimits = { ...limits, maxBytes: 1024, maxMediaBytes: 6000 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8000 }), fc.constantFrom('top', 'data'), fc.constantFrom('plain', 'twice'), (bytes, where, encoding) => {
        const media = { to: '+221770000001', type: 'image', mimeType: 'image/png', base64: Buffer.alloc(bytes, 0xab).toString('base64') };
        const cmd = { action: 'send_message', numberId: 1, requestId: 'r', ...(where === 'top' ? media : { data: media }) };
        const text = JSON.stringify(cmd);
        const result = parseText(encoding === 'twice' ? JSON.stringify(text) : text, {}, small);
        if (bytes === 0) expect(result.ok).toBe(false);
        else if (bytes <= small.maxMediaBytes!) expect(result.ok).toBe(true);
        else expect(result).toMatchObject({ ok: false, code: expect.stringMatching(/^(PAYLOAD_TOO_LARGE|MEDIA_TOO_LARGE)$/) });
        // The same bulk anywhere but in the media of a send_message is refused.
        const other = JSON.stringify({ ...cmd, action: 'status' });
        if (other.length > small.maxBytes) expect(parseText(other, {}, small)).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
      }),
      { numRuns: 150 },
    );
  });
});
