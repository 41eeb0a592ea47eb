import { createHash, randomBytes } from 'node:crypto';
import { Lru } from './lru.js';

/** What a session keeps of a poll it sent: enough to decrypt and name the votes. */
export interface SentPoll {
  options: string[];
  /** The poll's `messageSecret`: votes are encrypted with a key derived from it. */
  secret: Buffer;
}

/** Where sent polls outlive the process (poll-archive.ts implements it; declared here so the two do not import each other). */
export interface PollKeeper {
  save(sessionId: string, messageId: string, poll: SentPoll): Promise<void>;
  load(sessionId: string, messageId: string): Promise<SentPoll | undefined>;
}

/** Polls remembered per session by default. */
export const SENT_POLLS_CAPACITY = 1000;

/**
 * The polls a session sent, by message id, bounded (the oldest forgotten first): the memory in
 * front of the session's PollArchive (poll-archive.ts), which keeps them across restarts.
 */
export class SentPolls {
  private readonly polls: Lru<string, SentPoll>;

  constructor(
    private readonly sessionId: string,
    private readonly archive: PollKeeper | undefined,
    capacity = SENT_POLLS_CAPACITY,
  ) {
    this.polls = new Lru(capacity);
  }

  /**
   * The secret of the poll about to be sent as `messageId`: the one already chosen for it if this
   * is a resend (after a crash: WhatsApp keeps the first copy, so its secret is the one voters
   * use), else a new one; kept (memory, archive) BEFORE the send, so no sent poll lacks it.
   */
  async secretFor(messageId: string, options: string[]): Promise<Buffer> {
    const earlier = await this.find(messageId);
    const secret = earlier?.secret ?? randomBytes(32);
    const poll = { options, secret };
    this.polls.set(messageId, poll);
    if (!earlier) await this.archive?.save(this.sessionId, messageId, poll);
    return secret;
  }

  /** A poll this session sent: remembered, or from the archive (a storage failure throws: the caller is retried). */
  async find(messageId: string): Promise<SentPoll | undefined> {
    const known = this.polls.get(messageId);
    if (known || !this.archive) return known;
    const stored = await this.archive.load(this.sessionId, messageId);
    if (stored) this.polls.set(messageId, stored);
    return stored;
  }
}

/**
 * A vote's option hashes → the poll's option texts, in the poll's order. A vote names options by
 * the SHA-256 of their text; a hash that matches none (a forged or foreign vote) is left out.
 */
export function selectedOptionNames(poll: SentPoll, hashes: readonly Buffer[]): string[] {
  const chosen = new Set(hashes.map((h) => h.toString('hex')));
  return poll.options.filter((o) => chosen.has(createHash('sha256').update(o, 'utf8').digest('hex')));
}
