import type { Logger } from 'pino';
import type { MessagePayload } from '../events/event-publisher.js';
import { backoffDelay } from '../util/backoff.js';
import { describeError, isWorkerError } from '../util/errors.js';
import type { IncomingMessage } from '../whatsapp/types.js';
import { receivedMediaKey, storedMediaType, type MediaStore } from '../storage/media-store.js';

/** Downloads of one received file, at most (the message's event waits for them, in order). */
const MEDIA_ATTEMPTS = 3;

export interface IncomingMediaDeps {
  media?: MediaStore | undefined;
  mediaMaxBytes: number;
  /** First pause before downloading again after a storage/network failure (default 500 ms). */
  mediaRetryBaseMs?: number | undefined;
}

type MediaReference = NonNullable<MessagePayload<'message_received'>['media']>;

/**
 * Streams the file of a received media message into the media store and returns what
 * message_received says of it: where it is, or why it is not there. Never throws: the message
 * is published either way.
 *
 * `mimeType` and `fileName` in the reference are what the sender claims, passed on as
 * information; the file is stored under a key of our own making, with a content type and
 * extension from an allow-list (anything else: application/octet-stream, `.bin`).
 */
export async function storeReceivedMedia(sessionId: string, m: IncomingMessage, deps: IncomingMediaDeps, log: Logger): Promise<MediaReference> {
  const info = m.media!;
  const meta = {
    ...(info.mimeType ? { mimeType: info.mimeType } : {}),
    ...(info.fileName ? { fileName: info.fileName } : {}),
    ...(info.kind === 'audio' ? { ptt: info.ptt } : {}),
  };
  const announced = info.size !== undefined ? { size: info.size } : {};
  const store = deps.media;
  if (!store) return { ...meta, ...announced, error: 'no media store configured' };
  if (info.size !== undefined && info.size > deps.mediaMaxBytes) return { ...meta, ...announced, error: `larger than MEDIA_MAX_BYTES (${deps.mediaMaxBytes})` };
  const stored = storedMediaType(info.mimeType);
  const sender = m.participant ?? m.from.lid ?? m.from.pn ?? '';
  const key = receivedMediaKey(sessionId, info.kind, { chat: m.chat, sender, messageId: m.id }, stored.ext);
  for (let attempt = 1; ; attempt++) {
    try {
      const stream = await info.open();
      const { size } = await store.putStream(key, stream, { contentType: stored.contentType, maxBytes: deps.mediaMaxBytes });
      return { ...meta, key, size };
    } catch (err) {
      // A storage or network blip is worth another download (the message waits, in order);
      // a file that is too large or fails its MAC will not get better.
      const transient = isWorkerError(err, 'STORAGE_UNAVAILABLE') || isWorkerError(err, 'MEDIA_UNAVAILABLE');
      if (transient && attempt < MEDIA_ATTEMPTS) {
        log.warn({ messageId: m.id, attempt, err }, 'could not store received media; trying again');
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt - 1, { baseMs: deps.mediaRetryBaseMs ?? 500, maxMs: 5000 })));
        continue;
      }
      log.warn({ messageId: m.id, attempt, err }, 'could not store received media');
      return { ...meta, ...announced, error: describeError(err) };
    }
  }
}
