import { objectKeys } from '../storage/object-keys.js';
import type { BlobStore } from '../storage/types.js';
import type { HistoryCodec } from './message-history.js';
import type { SentPoll } from './sent-polls.js';

/**
 * Where a session's sent polls outlive the process: votes can arrive days later, and a vote can
 * only be read with its poll's secret. One small object per poll, written before the poll is
 * sent (so a resend after a crash reuses the same secret), through the storage codec (encrypted
 * when SESSION_ENCRYPTION_KEY is set); `delete` of the session removes them with its folder.
 */
export interface PollArchive {
  save(sessionId: string, messageId: string, poll: SentPoll): Promise<void>;
  /** Undefined when none is stored (or the id cannot be one of ours). */
  load(sessionId: string, messageId: string): Promise<SentPoll | undefined>;
}

/** Our message ids (derived, see message-id.ts) are letters and digits: anything else was never stored. */
const MESSAGE_ID = /^[A-Za-z0-9]{1,128}$/;

interface StoredPoll {
  v: 1;
  options: string[];
  secret: string;
}

export class BlobPollArchive implements PollArchive {
  constructor(
    private readonly blobs: BlobStore,
    private readonly codec: HistoryCodec,
  ) {}

  async save(sessionId: string, messageId: string, poll: SentPoll): Promise<void> {
    const key = objectKeys.poll(sessionId, messageId);
    const body: StoredPoll = { v: 1, options: poll.options, secret: poll.secret.toString('base64') };
    await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(body)), key));
  }

  async load(sessionId: string, messageId: string): Promise<SentPoll | undefined> {
    if (!MESSAGE_ID.test(messageId)) return undefined;
    const key = objectKeys.poll(sessionId, messageId);
    const stored = await this.blobs.get(key);
    if (!stored) return undefined;
    let body: Partial<StoredPoll>;
    try {
      body = JSON.parse(this.codec.decode(stored, key).data.toString('utf8')) as Partial<StoredPoll>;
    } catch {
      // A damaged object stays damaged: reading it again (each redelivery of a vote) would not help.
      return undefined;
    }
    const secret = typeof body.secret === 'string' ? Buffer.from(body.secret, 'base64') : undefined;
    if (body.v !== 1 || !Array.isArray(body.options) || !body.options.every((o) => typeof o === 'string') || secret?.length !== 32) return undefined;
    return { options: body.options, secret };
  }
}
