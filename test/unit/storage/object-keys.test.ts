import { decodeSegment, encodeSegment, keys } from '../../../src/storage/object-keys.js';

describe('object keys', () => {
  it('percent-encodes anything outside [A-Za-z0-9._-], reversibly', () => {
    for (const id of ['session_6_+221771234567', 'session_1_221700000001', 'a b%c~d', 'é']) {
      expect(decodeSegment(encodeSegment(id))).toBe(id);
      expect(encodeSegment(id)).toMatch(/^[A-Za-z0-9._~-]+$/);
    }
    expect(keys.journalSegment('session_6_+1234567', 42)).toBe('sessions/session_6_~2B1234567/auth/journal/000000000042');
    expect(keys.seqOf(keys.journalSegment('x', 42))).toBe(42);
  });

  it.each(['', '..', '.', 'a/b', 'a\\b', '../etc', 'x..y', 'nul\0', 'x'.repeat(201)])('rejects %j', (id) => {
    expect(() => encodeSegment(id)).toThrow(expect.objectContaining({ code: 'INVALID_SESSION_ID' }));
  });
});
