import fc from 'fast-check';
import { decodeSessionId, encodeSessionId, objectKeys, SESSIONS_PREFIX } from '../../../src/storage/object-keys.js';
import { isWorkerError } from '../../../src/util/errors.js';

/** encodeSessionId's verdict, without throwing: the segment, or undefined for INVALID_SESSION_ID (anything else fails the test). */
function encodeOrInvalid(id: string): string | undefined {
  try {
    return encodeSessionId(id);
  } catch (err) {
    if (!isWorkerError(err, 'INVALID_SESSION_ID')) throw err;
    return undefined;
  }
}

const SEGMENT = /^[A-Za-z0-9._~-]+$/;
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Session ids as they come, and anything else a string can be. */
const anyId = fc.oneof(
  fc.string({ maxLength: 140 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.oneof(fc.constantFrom(...'/\\.~+%_- \0'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), loneSurrogate), maxLength: 40 }),
  fc.tuple(fc.nat(), fc.stringMatching(/^\+?[0-9]{6,15}$/)).map(([n, p]) => `session_${n}_${p}`),
  fc.constantFrom('.', '..', '', 'a/b', '~2B', 'lost+found', 'x'.repeat(128), 'x'.repeat(129), '+'.repeat(66), '+'.repeat(67)),
);
/** Every key objectKeys makes for one id. */
const keysOf = (id: string, seq: number, day: string) => [
  objectKeys.session(id),
  objectKeys.meta(id),
  objectKeys.auth(id),
  objectKeys.snapshot(id, seq),
  objectKeys.segment(id, seq),
  objectKeys.messages(id),
  objectKeys.messagesDay(id, day),
  objectKeys.messagesBatch(id, day, seq),
];
const day = fc.date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const seq = fc.nat({ max: 999_999_999_999 });

describe('object keys, property-based', () => {
  it('an id is refused with INVALID_SESSION_ID, or encodes to one safe segment that decodes back to it', () => {
    fc.assert(
      fc.property(anyId, (id) => {
        const segment = encodeOrInvalid(id);
        if (segment === undefined) {
          expect(() => objectKeys.session(id)).toThrow(expect.objectContaining({ code: 'INVALID_SESSION_ID' }));
          return;
        }
        expect(segment).toMatch(SEGMENT);
        expect(segment.length).toBeLessThanOrEqual(200);
        expect(segment).not.toMatch(/^\.{1,2}$/);
        expect(decodeSessionId(segment)).toBe(id);
        expect(objectKeys.session(id)).toBe(`${SESSIONS_PREFIX}${segment}/`);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes only what it would have produced: decode, then encode, gives the same segment', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: fc.constantFrom(...'~0123456789ABCDEFabcdef._-+%/'), maxLength: 30 })), (segment) => {
        const id = decodeSessionId(segment);
        if (id !== undefined) expect(encodeSessionId(id)).toBe(segment);
      }),
      { numRuns: 500 },
    );
  });

  it('two different ids never share a folder, and no key of one lies in the folder of the other', () => {
    fc.assert(
      fc.property(anyId, anyId, seq, day, (a, b, n, d) => {
        const segA = encodeOrInvalid(a);
        const segB = encodeOrInvalid(b);
        fc.pre(segA !== undefined && segB !== undefined && a !== b);
        expect(segA).not.toBe(segB);
        const folderB = objectKeys.session(b);
        for (const key of keysOf(a, n, d)) {
          expect(key.startsWith(SESSIONS_PREFIX + segA + '/')).toBe(true);
          expect(key.startsWith(folderB)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('ids that are prefixes of one another stay apart (session_1 / session_10, +1 / +10, a / a~)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), seq, day, (a, suffix, n, d) => {
        const b = a + suffix;
        fc.pre(encodeOrInvalid(a) !== undefined && encodeOrInvalid(b) !== undefined);
        for (const key of keysOf(b, n, d)) expect(key.startsWith(objectKeys.session(a))).toBe(false);
        for (const key of keysOf(a, n, d)) expect(key.startsWith(objectKeys.session(b))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
