import type { Logger } from 'pino';
import type { Events, MessagePayload } from '../events/event-publisher.js';
import { describeError } from '../util/errors.js';
import type { IncomingMessage } from '../whatsapp/types.js';
import type { Lru } from './lru.js';
import { storeReceivedMedia } from './incoming-media.js';
import type { HistoryRecord } from './message-history.js';
import { selectedOptionNames, type SentPolls } from './sent-polls.js';
import type { MessageChanges } from './message-changes.js';
import { messageSeenKey, receivedHeader } from './history-sync.js';
import type { ReadReceipts } from './read-receipts.js';
import type { MessagingHost } from './messaging-host.js';
import type { IncomingMediaDeps } from './incoming-media.js';
import type { MessageHistory } from './message-history.js';
import type { MessageCounters } from './message-counters.js';

/** What a session's incoming path shares with the rest of its messaging (the same LRUs, not copies). */
export interface IncomingContext {
  host: MessagingHost;
  events: Events;
  deps: IncomingMediaDeps & { history?: MessageHistory | undefined; counters?: Pick<MessageCounters, 'countReceived'> | undefined };
  log: Logger;
  /** Messages already published, by chat and id (history-sync.ts writes it too). */
  seen: Lru<string, true>;
  /** Recent messages by id, to quote them in replies. */
  known: Lru<string, { fromMe: boolean; participant?: string; text?: string }>;
  changes: MessageChanges;
  reads: ReadReceipts;
  polls: SentPolls;
}

/**
 * A session's received messages and poll votes, turned into `message_received` / `poll_vote`:
 * each published (broker-confirmed) before WhatsApp gets its receipt, so a crash means a
 * redelivery, never a loss. Called one message at a time, on SessionMessaging's inbound chain.
 */
export class IncomingMessages {
  constructor(private readonly c: IncomingContext) {}

  async receive(m: IncomingMessage, offline: boolean): Promise<void> {
    // Ids are chosen by the sender: the same id in another chat is another message. (Incoming
    // messages are never our own, so fromMe is always false here.)
    const seenKey = messageSeenKey(m.chat, m.id);
    if (this.c.seen.has(seenKey)) {
      this.c.log.debug({ messageId: m.id }, 'duplicate delivery ignored');
      m.acknowledge(); // published already: WhatsApp may drop it now
      return;
    }
    if (m.pollVote) return this.receivePollVote(m, m.pollVote, seenKey);
    const media = m.media ? await storeReceivedMedia(this.c.host.id, m, this.c.deps, this.c.log) : undefined;
    const payload: MessagePayload<'message_received'> = {
      ...receivedHeader(m),
      offline,
      source: offline ? 'offline' : 'live',
      type: m.type,
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.replyTo ? { replyTo: m.replyTo } : {}),
      ...(media ? { media } : {}),
      ...(m.mentions?.length ? { mentions: m.mentions } : {}),
      ...(m.location ? { location: m.location } : {}),
      ...(m.contacts ? { contacts: m.contacts } : {}),
      ...(m.poll ? { poll: m.poll } : {}),
    };
    // Confirmed by the broker before the message counts as handled, and only then does WhatsApp
    // get its receipt (and drop it): a crash before this point means a redelivery, never a loss.
    // The eventId is derived from the message, so a redelivery re-publishes the same event.
    await this.c.events.message(
      'message_received',
      { numberId: this.c.host.numberId, sessionId: this.c.host.id, eventKey: `message_received\0${this.c.host.id}\0${seenKey}` },
      payload,
    );
    m.acknowledge();
    this.c.seen.set(seenKey, true);
    // Unread until mark_read, or autoRead's receipt (which forgets it once sent).
    this.c.reads.received(m);
    if (this.c.host.settings?.autoRead) this.autoRead(m);
    this.c.known.set(m.id, { fromMe: false, ...(m.participant ? { participant: m.participant } : {}), ...(m.text ? { text: m.text } : {}) });
    this.c.changes.remember(m.id, { fromMe: false, type: m.type, at: m.sentAt });
    this.c.deps.counters?.countReceived();
    const record: HistoryRecord = {
      direction: 'in',
      messageId: m.id,
      at: m.sentAt,
      chat: m.chat,
      type: m.type,
      from: m.from,
      ...(m.participant ? { participant: m.participant } : {}),
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(media?.key ? { mediaKey: media.key } : {}),
      ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    };
    this.c.deps.history?.append(this.c.host.id, record);
  }

  /**
   * A vote on a poll: poll_vote with the options named, if the poll is one this session sent and
   * remembers; otherwise nothing can be read of it (logged). Acknowledged to WhatsApp only once
   * the event is confirmed (or once it is known that there is nothing to publish).
   */
  private async receivePollVote(m: IncomingMessage, vote: NonNullable<IncomingMessage['pollVote']>, seenKey: string): Promise<void> {
    // A storage failure here throws: the vote is not receipted, and WhatsApp delivers it again.
    const poll = await this.c.polls.find(vote.pollMessageId);
    const hashes = poll ? vote.decrypt(poll.secret) : undefined;
    if (!poll || !hashes) {
      this.c.log.warn(
        { messageId: m.id, pollMessageId: vote.pollMessageId, known: !!poll },
        poll ? 'poll vote does not decrypt with the poll secret: dropped' : 'vote on a poll this session did not send (or no longer has): dropped',
      );
      m.acknowledge();
      this.c.seen.set(seenKey, true);
      return;
    }
    const selectedOptions = selectedOptionNames(poll, hashes);
    await this.c.events.message(
      'poll_vote',
      { numberId: this.c.host.numberId, sessionId: this.c.host.id, eventKey: `poll_vote\0${this.c.host.id}\0${seenKey}` },
      { messageId: m.id, pollMessageId: vote.pollMessageId, chat: m.chat, voter: m.from, selectedOptions, votedAt: vote.votedAt },
    );
    m.acknowledge();
    this.c.seen.set(seenKey, true);
    this.c.deps.history?.append(this.c.host.id, {
      direction: 'in',
      messageId: m.id,
      at: vote.votedAt,
      chat: m.chat,
      type: 'poll_vote',
      from: m.from,
      text: selectedOptions.join('\n'),
      replyTo: vote.pollMessageId,
    });
  }

  /** autoRead: the read receipt, once the message is safe; not awaited (a failure is only logged: the message stays unread). */
  private autoRead(m: IncomingMessage): void {
    m.markRead?.().then(
      () => this.c.reads.readOnArrival(m),
      (err) => this.c.log.warn({ messageId: m.id, err: describeError(err) }, 'autoRead: the read receipt was not sent'),
    );
  }
}
