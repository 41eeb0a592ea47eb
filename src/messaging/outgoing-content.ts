import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { OutgoingMessage } from '../commands/command.js';
import { describeError, isWorkerError, type ErrorCode } from '../util/errors.js';
import { httpGet, HttpGetError } from '../util/http-get.js';
import type { OutgoingContent } from '../whatsapp/types.js';
import { ByteLimit, type MediaStore } from './media-store.js';

/** A send that cannot succeed by trying again: answered with message_failed, and the command acked. */
export class SendFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface OutgoingMediaDeps {
  media?: MediaStore | undefined;
  mediaMaxBytes: number;
  /** Idle limit for a `url` file's server (default 30 s). */
  mediaFetchTimeoutMs?: number | undefined;
}

/** A command's message → what the WhatsApp boundary sends: media as bytes or a stream, never a URL. */
export async function outgoingContent(m: OutgoingMessage, deps: OutgoingMediaDeps): Promise<OutgoingContent> {
  if (m.type === 'text') return { type: 'text', text: m.text };
  const common = { type: m.type, mimeType: m.mimeType, caption: m.caption, fileName: m.fileName, ptt: m.ptt };
  switch (m.media.kind) {
    case 'url':
      return { ...common, ...(await fetchMedia(m.media.url, m.mimeType, deps)) };
    case 'base64':
      return { ...common, media: { buffer: m.media.data } };
    case 'mediaKey': {
      if (!deps.media) throw new SendFailure('MEDIA_NOT_FOUND', 'this worker has no media store');
      const key = m.media.key;
      const stream = await deps.media.getStream(key).catch((err) => {
        if (isWorkerError(err) && err.code === 'INVALID_MEDIA') throw new SendFailure('INVALID_MEDIA', err.message);
        throw err;
      });
      if (!stream) throw new SendFailure('MEDIA_NOT_FOUND', `no file at mediaKey "${key}"`);
      return { ...common, media: { stream } };
    }
  }
}

/**
 * The file behind a command's `url`, fetched here rather than by Baileys: bounded in time and
 * size, redirects limited to http(s) (Baileys would read a local file for anything that does
 * not start with a lower-case "http"), and a clear reason when it fails.
 */
async function fetchMedia(url: string, mimeType: string | undefined, deps: OutgoingMediaDeps): Promise<{ media: { stream: Readable }; mimeType: string | undefined }> {
  const max = deps.mediaMaxBytes;
  const res = await httpGet(url, { timeoutMs: deps.mediaFetchTimeoutMs ?? 30_000, maxRedirects: 5, protocols: ['http:', 'https:'] }).catch((err: unknown) => {
    const status = err instanceof HttpGetError ? err.status : 0;
    throw new SendFailure(status === 404 || status === 410 ? 'MEDIA_NOT_FOUND' : 'MEDIA_UNAVAILABLE', `cannot fetch the media URL: ${describeError(err)}`);
  });
  const length = Number(res.headers['content-length']);
  if (length > max) {
    res.destroy();
    throw new SendFailure('MEDIA_TOO_LARGE', `the media URL serves ${length} bytes, more than MEDIA_MAX_BYTES (${max})`);
  }
  const limited = new ByteLimit(max);
  pipeline(res, limited).catch(() => undefined); // an error reaches the send through `limited`
  const served = res.headers['content-type']?.split(';')[0]?.trim();
  return { media: { stream: limited }, mimeType: mimeType ?? (served && served !== 'application/octet-stream' ? served : undefined) };
}
