import { createHash } from 'node:crypto';
import { Lru } from './lru.js';

/** What a session keeps of a poll it sent: enough to decrypt and name the votes. */
export interface SentPoll {
  options: string[];
  /** The poll's `messageSecret`: votes are encrypted with a key derived from it. */
  secret: Buffer;
}

/** Polls remembered per session by default. */
export const SENT_POLLS_CAPACITY = 1000;

/**
 * The polls a session sent, by message id, bounded (the oldest forgotten first): the memory in
 * front of the session's PollArchive (poll-archive.ts), which keeps them across restarts.
 */
export class SentPolls {
  private readonly polls: Lru<string, SentPoll>;

  constructor(capacity = SENT_POLLS_CAPACITY) {
    this.polls = new Lru(capacity);
  }

  remember(messageId: string, poll: SentPoll): void {
    this.polls.set(messageId, poll);
  }

  get(messageId: string): SentPoll | undefined {
    return this.polls.get(messageId);
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
