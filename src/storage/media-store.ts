import { createHash, randomBytes } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { WorkerError } from '../util/errors.js';
import { encodeSessionId } from './object-keys.js';

/**
 * Media files, streamed: a received file goes from WhatsApp's download stream to the store
 * without ever being held whole in memory. Keys of received files (built only by `receivedMediaKey`):
 *   media/<encoded sessionId>/<images|videos|audio|documents|stickers>/<16 hex>-<8 hex>.<ext>
 * Local driver: files under STORAGE_DIR (so STORAGE_DIR/media/…); S3: the media bucket.
 * Files are stored as they are (the backend serves them); history and credentials are the
 * encrypted part of storage.
 *
 * This module is the contract and the key rules only, with no driver behind it (so what merely
 * uses a store, like the session core and messaging, never loads a storage client); the
 * drivers are local-media-store.ts and s3-media-store.ts.
 */
export interface MediaStore {
  /** Stores the stream under `key`; refuses (storing nothing) beyond `maxBytes`. */
  putStream(key: string, body: Readable, opts: { contentType?: string | undefined; maxBytes: number }): Promise<{ size: number }>;
  /** The file, or undefined when there is none. */
  getStream(key: string): Promise<Readable | undefined>;
  /** Removes every file of a session (`delete`). */
  deleteSession(sessionId: string): Promise<void>;
}

/** The kinds of received media (also `IncomingMedia['kind']`, whatsapp/types.ts). */
export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';
const FOLDER: Record<MediaKind, string> = { image: 'images', video: 'videos', audio: 'audio', document: 'documents', sticker: 'stickers' };
/**
 * The content types a stored file may have, with their extension. Anything else a sender
 * claims (text/html, image/svg+xml, …) is stored as application/octet-stream, `.bin`: the
 * backend serves these files, and must not serve a contact's HTML as a page.
 */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/quicktime': 'mov',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'application/zip': 'zip',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};

/**
 * What a file is stored as, from the MIME type its sender claims: the content type (S3
 * `Content-Type`) and extension come only from the allow-list above, never from the claim as
 * such nor from the sender's file name.
 */
export function storedMediaType(mimeType: string | undefined): { contentType: string; ext: string } {
  const base = mimeType?.split(';')[0]?.trim().toLowerCase();
  const ext = base && Object.hasOwn(EXTENSIONS, base) ? EXTENSIONS[base] : undefined;
  return ext ? { contentType: base!, ext } : { contentType: 'application/octet-stream', ext: 'bin' };
}

/**
 * Where a received file goes: by session and kind, named after its chat, sender and message id
 * (hashed: the id is chosen by the sender, and `3EB0.AB` must not meet `3EB0_AB`) plus a random
 * part, so that no message, from any chat, can ever overwrite another's file.
 */
export function receivedMediaKey(sessionId: string, kind: MediaKind, from: { chat: string; sender: string; messageId: string }, ext: string): string {
  const hash = createHash('sha256').update(`${from.chat}\0${from.sender}\0${from.messageId}`).digest('hex').slice(0, 16);
  return `${mediaPrefix(sessionId)}${FOLDER[kind]}/${hash}-${randomBytes(4).toString('hex')}.${ext}`;
}

/** Every media file of a session is under this prefix. */
export function mediaPrefix(sessionId: string): string {
  return `media/${encodeSessionId(sessionId)}/`;
}

/** Passes bytes through, counting them; errors with MEDIA_TOO_LARGE past `max`. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(new WorkerError('MEDIA_TOO_LARGE', `media is larger than MEDIA_MAX_BYTES (${this.max})`));
    else done(null, chunk);
  }
}

const MEDIA_KEY = /^media\/[A-Za-z0-9._~-]+\/[a-z]+\/[A-Za-z0-9._~-]+$/;
/** Every driver refuses a key that is not a media key (INVALID_MEDIA): nothing else can be read or written through a store. */
export function checkMediaKey(key: string): void {
  if (!MEDIA_KEY.test(key) || key.includes('..')) throw new WorkerError('INVALID_MEDIA', `not a media key: ${key.slice(0, 80)}`);
}
