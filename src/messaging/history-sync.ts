import type { Logger } from 'pino';
import type { Events, MessagePayload } from '../events/event-publisher.js';
import type { HistoryChunk, HistoryMessage } from '../whatsapp/types.js';

/** What publishing a history chunk needs from its session. */
export interface HistoryPublishContext {
  numberId: number;
  sessionId: string;
  events: Events;
  /** Chats and contacts per event; also how many message events may wait for their broker confirm at once. */
  batch: number;
  /** Messages already published (chat + id), shared with live messages. */
  seen: { has(key: string): boolean; set(key: string, value: true): unknown };
  log: Logger;
}

/** What a chunk came to. */
export interface HistoryChunkResult {
  messages: number;
  chats: number;
  contacts: number;
}

/** The key `seen` and the eventId use for a message: the same for the live and the history copy of one message. */
export const messageSeenKey = (chat: string, id: string): string => `${chat}\0${id}`;

/**
 * Publishes one chunk of the history the phone sends after linking: its chats and contacts in
 * events of at most `batch` items, then one `message_received` (source `history`) per message
 * not published before, then `history_sync_progress`; and only then acknowledges the chunk, so
 * that the phone sends again, after a crash, a chunk whose events were not all confirmed.
 *
 * Bounded: at most `batch` message events wait for their broker confirm at any time (the
 * outbox never holds a whole chunk), and messages are translated one at a time. Every eventId
 * is derived from what the event reports, so a chunk sent again re-publishes the same events.
 * Rejects (without acknowledging) when the broker fails: the chunk comes again.
 */
export async function publishHistoryChunk(chunk: HistoryChunk, ctx: HistoryPublishContext): Promise<HistoryChunkResult> {
  const { numberId, sessionId, events, batch } = ctx;
  const which = { syncType: chunk.syncType, ...(chunk.chunkOrder !== undefined ? { chunkOrder: chunk.chunkOrder } : {}) };
  const subject = (eventKey: string) => ({ numberId, sessionId, eventKey });

  for (const chats of slices(chunk.chats, batch)) {
    const key = `history_chats\0${sessionId}\0${chunk.syncType}\0${chunk.chunkOrder ?? ''}\0${chats.map((c) => c.jid).join('\0')}`;
    await events.message('history_chats', subject(key), { ...which, chats: [...chats] });
  }
  for (const contacts of slices(chunk.contacts, batch)) {
    const key = `history_contacts\0${sessionId}\0${chunk.syncType}\0${chunk.chunkOrder ?? ''}\0${contacts.map((c) => c.jid).join('\0')}`;
    await events.message('history_contacts', subject(key), { ...which, contacts: [...contacts] });
  }

  const window = new ConfirmWindow(batch);
  const inChunk = new Set<string>();
  let messages = 0;
  for (const m of chunk.messages()) {
    const seenKey = messageSeenKey(m.chat, m.id);
    if (ctx.seen.has(seenKey) || inChunk.has(seenKey)) continue;
    inChunk.add(seenKey);
    const confirmed = events.message('message_received', subject(`message_received\0${sessionId}\0${seenKey}`), historyPayload(m));
    messages += 1;
    await window.add(confirmed.then(() => ctx.seen.set(seenKey, true)));
  }
  await window.drain();

  const counts = { messages, chats: chunk.chats.length, contacts: chunk.contacts.length };
  const progressKey = `history_sync_progress\0${sessionId}\0${chunk.syncType}\0${chunk.chunkOrder ?? ''}\0${chunk.progress ?? ''}\0${chunk.messageCount}\0${counts.chats}\0${counts.contacts}`;
  await events.message('history_sync_progress', subject(progressKey), {
    ...which,
    ...(chunk.progress !== undefined ? { progress: chunk.progress } : {}),
    isLatest: chunk.isLatest,
    ...counts,
  });
  chunk.acknowledge();
  ctx.log.info({ ...which, progress: chunk.progress, ...counts }, 'history chunk published');
  return counts;
}

/** What every `message_received` says of its message first: which, where, from whom, when (live, offline or history alike). */
export function receivedHeader(m: Pick<HistoryMessage, 'id' | 'chat' | 'isGroup' | 'from' | 'participant' | 'pushName' | 'sentAt'>) {
  return {
    messageId: m.id,
    chat: m.chat,
    isGroup: m.isGroup,
    from: m.from,
    ...(m.participant ? { participant: m.participant } : {}),
    ...(m.pushName ? { pushName: m.pushName } : {}),
    sentAt: m.sentAt,
  };
}

/** A history message → the `message_received` payload (no media download: see HistoryMessage). */
export function historyPayload(m: HistoryMessage): MessagePayload<'message_received'> {
  return {
    ...receivedHeader(m),
    offline: false,
    source: 'history',
    ...(m.fromMe ? { fromMe: true } : {}),
    type: m.type,
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.caption !== undefined ? { caption: m.caption } : {}),
    ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    ...(m.media
      ? {
          media: {
            ...(m.media.mimeType ? { mimeType: m.media.mimeType } : {}),
            ...(m.media.size !== undefined ? { size: m.media.size } : {}),
            ...(m.media.fileName ? { fileName: m.media.fileName } : {}),
            ...(m.media.ptt ? { ptt: true } : {}),
          },
        }
      : {}),
  };
}

function* slices<T>(items: readonly T[], size: number): Iterable<readonly T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * At most `size` promises pending: `add` waits for the oldest once the window is full. The first
 * failure is thrown (by `add` or `drain`); the others are silenced (the caller gives up anyway).
 */
export class ConfirmWindow {
  private readonly pending: Array<Promise<unknown>> = [];

  constructor(private readonly size: number) {}

  async add(p: Promise<unknown>): Promise<void> {
    p.catch(() => undefined); // awaited below, in order: not an unhandled rejection meanwhile
    this.pending.push(p);
    if (this.pending.length >= this.size) await this.pending.shift();
  }

  async drain(): Promise<void> {
    while (this.pending.length) await this.pending.shift();
  }

  get inFlight(): number {
    return this.pending.length;
  }
}
