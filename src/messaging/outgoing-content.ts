import type { Readable } from 'node:stream';
import type { MediaSource, OutgoingMessage } from '../commands/command.js';
import { AddressPolicy } from '../util/address-policy.js';
import { describeError, isWorkerError, WorkerError, type ErrorCode } from '../util/errors.js';
import { httpGet } from '../util/http-get.js';
import type { OutgoingContent } from '../whatsapp/types.js';
import { ByteLimit, mediaPrefix, type MediaStore } from '../storage/media-store.js';

/**
 * A send that cannot succeed by trying again: answered with message_failed, and the command
 * acked. `message` is the reason the backend sees; `detail`, when there is one, only goes to the
 * log (e.g. why a media URL could not be fetched: the backend must not learn which internal
 * ports answer).
 */
export class SendFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The one reason the backend gets for any media URL that could not be fetched. */
export const MEDIA_URL_UNAVAILABLE = 'the media URL could not be fetched';

export interface OutgoingMediaDeps {
  media?: MediaStore | undefined;
  mediaMaxBytes: number;
  /** Idle limit for a `url` file's server (default 30 s). */
  mediaFetchTimeoutMs?: number | undefined;
  /** Absolute limit for a `url` file, whole body included (MEDIA_FETCH_DEADLINE_MS; default 120 s). */
  mediaFetchDeadlineMs?: number | undefined;
  /**
   * Private hosts and CIDRs a `url` may reach (MEDIA_FETCH_ALLOWED_HOSTS), as entries or parsed;
   * default none: public addresses only.
   */
  mediaFetchAllowedHosts?: AddressPolicy | readonly string[] | undefined;
}

/** A command's media message, and what it becomes for the WhatsApp boundary. */
export type OutgoingMediaMessage = Extract<OutgoingMessage, { media: MediaSource }>;
export type OutgoingMediaContent = Extract<OutgoingContent, { media: unknown }>;

/** What the non-media kinds need from the session: a fresh poll key, what it remembers of a reacted-to message. */
export interface KindContext {
  pollSecret(): Buffer;
  known(messageId: string): { fromMe: boolean; participant?: string } | undefined;
}

/**
 * A command's message → what the WhatsApp boundary sends: media as bytes or a stream, never a
 * URL. `sessionId` is the sending session: a `mediaKey` must be one of its own files.
 */
export async function outgoingContent(m: OutgoingMessage, deps: OutgoingMediaDeps, sessionId: string, kinds: KindContext): Promise<OutgoingContent> {
  switch (m.type) {
    case 'text':
      return { type: 'text', text: m.text };
    case 'location':
    case 'contact':
      return m;
    case 'poll':
      return { type: 'poll', name: m.name, options: m.options, selectableCount: m.selectableCount, messageSecret: kinds.pollSecret() };
    case 'reaction': {
      const known = kinds.known(m.messageId);
      const fromMe = m.fromMe ?? known?.fromMe ?? false;
      const participant = m.participant ?? (fromMe ? undefined : known?.participant);
      return { type: 'reaction', emoji: m.emoji, target: { id: m.messageId, fromMe, ...(participant ? { participant } : {}) } };
    }
    default:
      return mediaContent(m, deps, sessionId);
  }
}

/** A media message of a command (or a profile picture) → its bytes or stream, under the same rules. */
export async function mediaContent(m: OutgoingMediaMessage, deps: OutgoingMediaDeps, sessionId: string): Promise<OutgoingMediaContent> {
  const common = { type: m.type, mimeType: m.mimeType, caption: m.caption, fileName: m.fileName, ptt: m.ptt };
  switch (m.media.kind) {
    case 'url':
      return { ...common, ...(await fetchMedia(m.media.url, m.mimeType, deps)) };
    case 'base64':
      return { ...common, media: { buffer: m.media.data } };
    case 'mediaKey': {
      const key = m.media.key;
      // One number must not be able to send another number's received files.
      if (!key.startsWith(mediaPrefix(sessionId))) throw new SendFailure('INVALID_MEDIA', 'mediaKey belongs to another session');
      if (!deps.media) throw new SendFailure('MEDIA_NOT_FOUND', 'this worker has no media store');
      const stream = await deps.media.getStream(key).catch((err) => {
        if (isWorkerError(err) && err.code === 'INVALID_MEDIA') throw new SendFailure('INVALID_MEDIA', err.message);
        throw err;
      });
      if (!stream) throw new SendFailure('MEDIA_NOT_FOUND', `no file at mediaKey "${key}"`);
      return { ...common, media: { stream } };
    }
  }
}

/** The scheme, host and port of a URL, for the log (no path or query: they may carry tokens). */
function origin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * The file behind a command's `url`, fetched here rather than by Baileys: only from public
 * addresses unless allowed (checked for every redirect, the connection pinned to the checked
 * address), no credentials, bounded in time (idle and absolute) and size, redirects limited to
 * http(s) (Baileys would read a local file for anything that does not start with a lower-case
 * "http"). Whatever goes wrong, the backend gets one reason (MEDIA_UNAVAILABLE) but for a file
 * that is too large; the detail goes to the log.
 */
async function fetchMedia(
  url: string,
  mimeType: string | undefined,
  deps: OutgoingMediaDeps,
): Promise<{ media: { stream: Readable }; mimeType: string | undefined }> {
  const max = deps.mediaMaxBytes;
  const unavailable = (err: unknown) => new SendFailure('MEDIA_UNAVAILABLE', MEDIA_URL_UNAVAILABLE, `${origin(url)}: ${describeError(err)}`);
  let addressPolicy: AddressPolicy;
  try {
    addressPolicy = AddressPolicy.from(deps.mediaFetchAllowedHosts);
  } catch (err) {
    throw unavailable(err); // a bad MEDIA_FETCH_ALLOWED_HOSTS entry: fail closed, the log says which
  }
  const res = await httpGet(url, {
    timeoutMs: deps.mediaFetchTimeoutMs ?? 30_000,
    deadlineMs: deps.mediaFetchDeadlineMs ?? 120_000,
    maxRedirects: 5,
    protocols: ['http:', 'https:'],
    addressPolicy,
  }).catch((err: unknown) => {
    throw unavailable(err);
  });
  const length = Number(res.headers['content-length']);
  if (length > max) {
    res.destroy();
    throw new SendFailure('MEDIA_TOO_LARGE', `the media URL serves ${length} bytes, more than MEDIA_MAX_BYTES (${max})`);
  }
  const limited = new ByteLimit(max);
  // A failure while the body streams (deadline, idle, cut off) reaches the send through
  // `limited` with the same one reason; MEDIA_TOO_LARGE (from `limited` itself) stays as it is.
  res.on('error', (err) =>
    limited.destroy(new WorkerError('MEDIA_UNAVAILABLE', MEDIA_URL_UNAVAILABLE, { cause: new Error(`${origin(url)}: ${describeError(err)}`) })),
  );
  limited.on('error', () => res.destroy());
  limited.on('close', () => {
    if (!res.complete) res.destroy();
  });
  res.pipe(limited);
  const served = res.headers['content-type']?.split(';')[0]?.trim();
  return { media: { stream: limited }, mimeType: mimeType ?? (served && served !== 'application/octet-stream' ? served : undefined) };
}
