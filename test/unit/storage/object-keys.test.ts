import { decodeSessionId, encodeSessionId, objectKeys, parseAuthKey } from '../../../src/storage/object-keys.js';

describe('object keys', () => {
  it('encodes a session id into one safe, reversible segment ("+" becomes "~2B")', () => {
    expect(encodeSessionId('session_6_+221771234567')).toBe('session_6_~2B221771234567');
    expect(objectKeys.meta('session_6_+221771234567')).toBe('sessions/session_6_~2B221771234567/session-data.json');
    expect(objectKeys.auth('session_6_+221771234567')).toBe('sessions/session_6_~2B221771234567/auth/');
    expect(objectKeys.segment('session_6_+221771234567', 42)).toBe('sessions/session_6_~2B221771234567/auth/journal/000000000042');
    expect(objectKeys.snapshot('session_6_+221771234567', 7)).toBe('sessions/session_6_~2B221771234567/auth/snapshot/000000000007');
  });

  it.each(['session_6_+221771234567', 'session_1_221700000001', 'a b%c~d', 'é€😀', 'x.y-z_1', '~2B', 'lost+found'])('round-trips %j', (id) => {
    const segment = encodeSessionId(id);
    expect(segment).toMatch(/^(?:[A-Za-z0-9._-]|~[0-9A-F]{2})+$/);
    expect(decodeSessionId(segment)).toBe(id);
  });

  it('does not decode segments it would not have produced', () => {
    for (const segment of ['lost+found', 'a%2Bb', '~2b', '~', '~ZZ', '..', '']) expect(decodeSessionId(segment)).toBeUndefined();
  });

  it.each(['', '..', '.', '../etc', 'a/b', '/abs', 'a\\b', 'x..y', 'nul\0byte', 'x'.repeat(129), '+'.repeat(80), 'lone\uD800surrogate'])('rejects %j with INVALID_SESSION_ID', (id) => {
    expect(() => encodeSessionId(id)).toThrow(expect.objectContaining({ code: 'INVALID_SESSION_ID' }));
    expect(() => objectKeys.session(id)).toThrow(expect.objectContaining({ code: 'INVALID_SESSION_ID' }));
  });

  it('keeps one session prefix from matching another (session_1 vs session_10)', () => {
    expect(objectKeys.session('session_10_+1').startsWith(objectKeys.session('session_1_+1'))).toBe(false);
    expect(objectKeys.session('session_1_+10').startsWith(objectKeys.session('session_1_+1'))).toBe(false);
  });

  it('classifies auth keys and ignores anything else', () => {
    const prefix = objectKeys.auth('s');
    expect(parseAuthKey(prefix, objectKeys.segment('s', 3))).toEqual({ kind: 'segment', seq: 3 });
    expect(parseAuthKey(prefix, objectKeys.snapshot('s', 9))).toEqual({ kind: 'snapshot', seq: 9 });
    for (const stray of [`${prefix}journal/12`, `${prefix}journal/000000000001.tmp`, `${prefix}creds.json`, `${prefix}journal/x/000000000001`, 'sessions/t/auth/journal/000000000001']) {
      expect(parseAuthKey(prefix, stray)).toBeUndefined();
    }
  });
});
