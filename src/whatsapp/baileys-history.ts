import { getHistoryMsg, jidNormalizedUser, PROCESSABLE_HISTORY_TYPES, proto, toNumber, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import type { Readable } from 'node:stream';
import type { HistorySyncType } from '../events/catalogue.js';
import { toIncomingMessage } from './incoming-message.js';
import type { HistoryChat, HistoryChunk, HistoryContact, HistoryMessage } from './types.js';

type HistorySet = BaileysEventMap['messaging-history.set'];
type HistoryNotification = proto.Message.IHistorySyncNotification;

/** Longest name kept (chat names, push names: chosen by others). */
const MAX_NAME = 256;
/** JIDs a chat or contact may have: people (phone number, LID) and groups. */
const PERSON_OR_GROUP = /^[0-9A-Za-z._-]{1,64}(:\d{1,4})?@(s\.whatsapp\.net|lid|g\.us)$/;

const SYNC_TYPES: Record<number, HistorySyncType> = {
  [proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP]: 'initial_bootstrap',
  [proto.HistorySync.HistorySyncType.INITIAL_STATUS_V3]: 'initial_status_v3',
  [proto.HistorySync.HistorySyncType.FULL]: 'full',
  [proto.HistorySync.HistorySyncType.RECENT]: 'recent',
  [proto.HistorySync.HistorySyncType.PUSH_NAME]: 'push_name',
  [proto.HistorySync.HistorySyncType.NON_BLOCKING_DATA]: 'non_blocking_data',
  [proto.HistorySync.HistorySyncType.ON_DEMAND]: 'on_demand',
};

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : toNumber(v as number));
const name = (v: string | null | undefined): string | undefined => (v ? v.slice(0, MAX_NAME) : undefined);
const jid = (v: string | null | undefined): string | undefined => (v && PERSON_OR_GROUP.test(v) ? jidNormalizedUser(v) : undefined);

/** Nothing is downloaded for history messages: a stream that says so if ever opened. */
const noDownload = (): Promise<Readable> => Promise.reject(new Error('history media are not downloaded'));

/**
 * The history notification a message carries, when Baileys will download and emit it
 * (`processMessage`: only from our own phone, and only what `shouldSync` accepts).
 */
export function processedHistoryNotification(msg: WAMessage, shouldSync: (n: HistoryNotification) => boolean): HistoryNotification | undefined {
  if (!msg.message || !msg.key.fromMe) return undefined;
  const notification = getHistoryMsg(msg.message);
  if (!notification) return undefined;
  const type = notification.syncType;
  return type !== null && type !== undefined && (PROCESSABLE_HISTORY_TYPES as readonly number[]).includes(type) && shouldSync(notification)
    ? notification
    : undefined;
}

/** One history message → the boundary's HistoryMessage (undefined: not a message to report). */
export function toHistoryMessage(msg: WAMessage, me: { pn?: string; lid?: string }): HistoryMessage | undefined {
  const base = toIncomingMessage(msg, noDownload, [], { includeOwn: true });
  if (!base) return undefined;
  const fromMe = !!msg.key.fromMe;
  const { media, ...rest } = base;
  return {
    ...rest,
    ...(fromMe ? { from: { ...(me.pn ? { pn: me.pn } : {}), ...(me.lid ? { lid: me.lid } : {}) } } : {}),
    fromMe,
    ...(media ? { media: { kind: media.kind, mimeType: media.mimeType, size: media.size, fileName: media.fileName, ptt: media.ptt } } : {}),
  };
}

export function toHistoryChat(chat: HistorySet['chats'][number]): HistoryChat | undefined {
  const id = jid(chat.id);
  if (!id) return undefined;
  const last = num(chat.conversationTimestamp) ?? chat.lastMessageRecvTimestamp;
  const unread = num(chat.unreadCount);
  return {
    jid: id,
    ...(name(chat.name ?? chat.displayName) ? { name: name(chat.name ?? chat.displayName)! } : {}),
    ...(unread !== undefined && unread >= 0 ? { unreadCount: Math.min(unread, 1_000_000) } : {}),
    ...(last ? { lastMessageAt: last * 1000 } : {}),
    ...(chat.archived ? { archived: true } : {}),
    ...(chat.pinned ? { pinned: true } : {}),
    ...(chat.readOnly ? { readOnly: true } : {}),
  };
}

export function toHistoryContact(contact: HistorySet['contacts'][number]): HistoryContact | undefined {
  const id = jid(contact.id);
  if (!id) return undefined;
  const lid = jid(contact.lid);
  const phoneJid = jid(contact.phoneNumber);
  return {
    jid: id,
    ...(lid?.endsWith('@lid') ? { lid } : {}),
    ...(phoneJid?.endsWith('@s.whatsapp.net') ? { phoneJid } : {}),
    ...(name(contact.name) ? { name: name(contact.name)! } : {}),
    ...(name(contact.notify) ? { notify: name(contact.notify)! } : {}),
    ...(name(contact.verifiedName) ? { verifiedName: name(contact.verifiedName)! } : {}),
  };
}

/**
 * Baileys' `messaging-history.set` → a HistoryChunk. Chats and contacts are translated at once
 * (small), messages one at a time as the session iterates them.
 */
export function toHistoryChunk(set: HistorySet, me: { pn?: string; lid?: string }, acknowledge: () => void): HistoryChunk {
  const syncType = set.syncType === null || set.syncType === undefined ? 'unknown' : (SYNC_TYPES[set.syncType] ?? 'unknown');
  const progress = num(set.progress);
  const chunkOrder = num(set.chunkOrder);
  const messages = set.messages;
  return {
    syncType,
    ...(progress !== undefined ? { progress } : {}),
    ...(chunkOrder !== undefined ? { chunkOrder } : {}),
    isLatest: !!set.isLatest,
    chats: defined(set.chats.map(toHistoryChat)),
    contacts: defined(set.contacts.map(toHistoryContact)),
    messageCount: messages.length,
    *messages() {
      for (const m of messages) {
        const message = toHistoryMessage(m, me);
        if (message) yield message;
      }
    },
    acknowledge,
  };
}

const defined = <T>(items: Array<T | undefined>): T[] => items.filter((x): x is T => x !== undefined);

/**
 * The receipts of history-sync notifications, held until their chunk's events are confirmed.
 *
 * The receipt gate holds them like any message's (scripts/patch-baileys.mjs). A notification is
 * emitted as a message (`messages.upsert`) and its chunk as a `messaging-history.set` that names
 * it (`historyNotificationIds`, patched in), in either order (Baileys' event buffer emits the set
 * first when both are buffered). So a notification's receipt is taken from the gate by whichever
 * comes first: `park` (the message, before its set) keeps it here, `claim` (the set) takes it
 * from here or from the gate. A chunk whose download failed is never claimed: its receipt stays
 * held until the socket closes, and the phone sends the notification again on the next connection.
 */
export class HistoryReceipts {
  private readonly parked = new Map<string, () => void>();

  constructor(private readonly gate: { take(messageId: string): (() => void) | undefined }) {}

  /** The notification `id` was emitted as a message: its receipt waits here for its chunk. */
  park(id: string): void {
    const release = this.gate.take(id);
    if (release) this.parked.set(id, release);
  }

  /** The receipts of these notifications, sent by one call (once their chunk is safe). */
  claim(ids: readonly string[] | undefined): () => void {
    const releases: Array<() => void> = [];
    for (const id of ids ?? []) {
      const release = this.parked.get(id) ?? this.gate.take(id);
      this.parked.delete(id);
      if (release) releases.push(release);
    }
    return () => {
      for (const release of releases.splice(0)) release();
    };
  }

  get size(): number {
    return this.parked.size;
  }

  /** The socket closed: nothing parked is sent any more (the phone sends those chunks again). */
  clear(): void {
    this.parked.clear();
  }
}
