/**
 * WhatsApp media encryption as the phone and the media servers see it, written independently of
 * the worker's streaming decryptor (so each checks the other): a random 32-byte media key,
 * expanded with HKDF into iv, cipher key and MAC key; the file is AES-256-CBC(plaintext) followed
 * by the first 10 bytes of HMAC-SHA256(macKey, iv ‖ ciphertext).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { getMediaKeys } from '@whiskeysockets/baileys';

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

const MAC_LENGTH = 10;
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

async function keys(mediaKey: Uint8Array, kind: MediaKind): Promise<{ iv: Buffer; cipherKey: Buffer; macKey: Buffer }> {
  const k = await getMediaKeys(mediaKey, kind);
  return { iv: Buffer.from(k.iv), cipherKey: Buffer.from(k.cipherKey), macKey: Buffer.from(k.macKey!) };
}

export interface EncryptedMedia {
  mediaKey: Buffer;
  /** ciphertext ‖ mac: what the media host stores */
  file: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
}

export async function encryptMedia(plain: Buffer, kind: MediaKind): Promise<EncryptedMedia> {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await keys(mediaKey, kind);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const enc = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, MAC_LENGTH);
  const file = Buffer.concat([enc, mac]);
  return { mediaKey, file, fileSha256: sha256(plain), fileEncSha256: sha256(file) };
}

/** Decrypts a stored file; throws when its MAC does not match (the file or the key is wrong). */
export async function decryptMedia(file: Buffer, mediaKey: Uint8Array, kind: MediaKind): Promise<Buffer> {
  const { iv, cipherKey, macKey } = await keys(mediaKey, kind);
  const enc = file.subarray(0, file.length - MAC_LENGTH);
  const mac = file.subarray(file.length - MAC_LENGTH);
  const expected = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, MAC_LENGTH);
  if (mac.length !== MAC_LENGTH || !timingSafeEqual(mac, expected)) throw new Error('media MAC mismatch');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  return Buffer.concat([decipher.update(enc), decipher.final()]);
}
