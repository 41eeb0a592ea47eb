import { deriveMessageId } from '../../src/messaging/message-id.js';
import { receivedMediaKey } from '../../src/storage/media-store.js';
import { createCodec, deriveKeyId, parseEncryptionKey } from '../../src/storage/encryption.js';
import { encodeSessionId, objectKeys } from '../../src/storage/object-keys.js';

/**
 * Golden values: ids and formats that outlive a version of the worker. Each is derived, so the
 * other tests (which compare a value with itself, computed twice) keep passing when the
 * derivation changes; these do not. A change here breaks something across an upgrade:
 * the WhatsApp id of a command redelivered after the upgrade differs from the one sent before it
 * (the message goes out twice), a key id no longer names the key objects were written with, a
 * stored object can no longer be read. Change a value only with a migration, and say so.
 */
const SID = 'session_6_+221771234567';

describe('stable ids and formats (golden values)', () => {
  it('deriveMessageId: the WhatsApp id of a send_message, from (sessionId, requestId)', () => {
    expect(deriveMessageId(SID, 'req-1')).toBe('3EB02BCB54AD909CD63CF2');
    expect(deriveMessageId('session_7_+221770000007', 'r-42')).toBe('3EB04AB3F6F2B29F1CC967');
  });

  it('deriveKeyId: the id an encryption key is stored under (first 8 hex of its SHA-256)', () => {
    expect(deriveKeyId(Buffer.alloc(32, 7))).toBe('4bb06f8e');
    expect(parseEncryptionKey('07'.repeat(32)).id).toBe('4bb06f8e');
  });

  it('an object encrypted by this format (version 1) is read back: objects written before an upgrade stay readable', () => {
    const codec = createCodec({ current: parseEncryptionKey('07'.repeat(32)) });
    const context = 'sessions/session_6_~2B221771234567/auth/snapshot/000000000001';
    const stored = Buffer.from('V0FXRQEINGJiMDZmOGUJTU9ykEv3cgaQAtGBx4NYJq43cwlzTF91RkSi5mgH/CvOe++Sh00qwr1pbFTP6Cst', 'base64');
    expect(codec.decode(stored, context)).toEqual({ data: Buffer.from('{"noiseKey":"golden"}'), stale: false });
    // The plaintext framing, too (a store that ran without a key).
    expect(createCodec(undefined).decode(Buffer.from('V0FXUAF7InBsYWluIjp0cnVlfQ==', 'base64'), 'x').data.toString()).toBe('{"plain":true}');
  });

  it('storage keys of a session and of a received file', () => {
    expect(encodeSessionId(SID)).toBe('session_6_~2B221771234567');
    expect(objectKeys.meta(SID)).toBe('sessions/session_6_~2B221771234567/session-data.json');
    const key = receivedMediaKey(SID, 'image', { chat: '111111111111111@lid', sender: '221770000001@s.whatsapp.net', messageId: '3EB0ABCDEF' }, 'jpg');
    expect(key).toMatch(/^media\/session_6_~2B221771234567\/images\/7840d3caa4e42e89-[0-9a-f]{8}\.jpg$/);
  });
});
