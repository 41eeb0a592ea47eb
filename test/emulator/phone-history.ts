/**
 * The history an account's phone sends a newly linked device (notes-2 §7): a test gives the
 * phone conversations (messages from the contact and from the account) and push names; on the
 * device's first login the phone sends them as history-sync notifications: an INITIAL_BOOTSTRAP
 * chunk, RECENT chunks (the last with progress 100), then a PUSH_NAME chunk.
 *
 * Every chunk travels inline (`initialHistBootstrapInlinePayload`, zlib): Baileys downloads
 * a non-inline chunk from the fixed host `mmg.whatsapp.net` (only `options.dispatcher` could
 * redirect it, which the worker does not set), so the emulator's media host cannot serve it.
 * Baileys takes an inline payload for any sync type, so the chunks are otherwise real.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { proto } from '@whiskeysockets/baileys';
import { normalizePhone } from './accounts.js';

export interface PhoneHistoryMessage {
  /** default: a random `3EB0…` id */
  id?: string;
  fromMe: boolean;
  text: string;
  /** unix seconds; default: in order, one minute apart, ending now */
  t?: number;
}

export interface PhoneConversation {
  /** the contact's phone number (the chat is its phone-number JID) */
  with: string;
  /** the name in the phone's address book */
  name?: string;
  unreadCount?: number;
  /** oldest first */
  messages: PhoneHistoryMessage[];
}

export interface PhoneHistory {
  conversations: PhoneConversation[];
  pushnames?: Array<{ phone: string; name: string }>;
  /** messages per chunk (default 100); the first chunk is INITIAL_BOOTSTRAP, the others RECENT */
  messagesPerChunk?: number;
}

const { HistorySyncType } = proto.HistorySync;

/** The history-sync notifications (protocol messages from the phone), in the order the phone sends them. */
export function historyNotifications(history: PhoneHistory): proto.IMessage[] {
  const perChunk = history.messagesPerChunk ?? 100;
  const now = Math.floor(Date.now() / 1000);
  // every message with its chat, in chat order then message order
  const all = history.conversations.flatMap((c) => {
    const jid = `${normalizePhone(c.with)}@s.whatsapp.net`;
    return c.messages.map((m, i) => ({ c, jid, info: webMessage(jid, c, m, m.t ?? now - (c.messages.length - i) * 60) }));
  });
  const chunks: Array<typeof all> = [];
  for (let i = 0; i < all.length; i += perChunk) chunks.push(all.slice(i, i + perChunk));
  if (chunks.length === 0) chunks.push([]);

  const out: proto.IMessage[] = [];
  chunks.forEach((chunk, order) => {
    const recent = order > 0;
    const syncType = recent ? HistorySyncType.RECENT : HistorySyncType.INITIAL_BOOTSTRAP;
    const progress = Math.round(((order + 1) / chunks.length) * 100);
    // the chunk's chats, each with its messages in this chunk (newest first, as phones send them)
    const conversations = history.conversations
      .map((c) => {
        const jid = `${normalizePhone(c.with)}@s.whatsapp.net`;
        const mine = chunk.filter((e) => e.c === c);
        const latest = mine.at(-1)?.info.messageTimestamp;
        return {
          id: jid,
          ...(c.name ? { name: c.name } : {}),
          ...(c.unreadCount !== undefined ? { unreadCount: c.unreadCount } : {}),
          ...(latest !== undefined ? { conversationTimestamp: latest } : {}),
          messages: mine.reverse().map((e) => ({ message: e.info })),
        };
      })
      .filter((c) => order === 0 || c.messages.length > 0);
    const notified = recent ? proto.Message.HistorySyncType.RECENT : proto.Message.HistorySyncType.INITIAL_BOOTSTRAP;
    out.push(notification(notified, order, progress, { syncType, conversations, chunkOrder: order, progress }));
  });
  if (history.pushnames?.length) {
    const pushnames = history.pushnames.map((p) => ({ id: `${normalizePhone(p.phone)}@s.whatsapp.net`, pushname: p.name }));
    out.push(notification(proto.Message.HistorySyncType.PUSH_NAME, 0, 100, { syncType: HistorySyncType.PUSH_NAME, pushnames }));
  }
  return out;
}

function webMessage(chat: string, c: PhoneConversation, m: PhoneHistoryMessage, t: number): proto.IWebMessageInfo {
  return {
    key: { remoteJid: chat, fromMe: m.fromMe, id: m.id ?? `3EB0${randomBytes(9).toString('hex').toUpperCase()}` },
    message: { conversation: m.text },
    messageTimestamp: t,
    ...(m.fromMe ? { status: proto.WebMessageInfo.Status.READ } : { pushName: c.name ?? `Contact ${normalizePhone(c.with)}` }),
  };
}

function notification(syncType: proto.Message.HistorySyncType, chunkOrder: number, progress: number, sync: proto.IHistorySync): proto.IMessage {
  return {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: {
        syncType,
        chunkOrder,
        progress,
        initialHistBootstrapInlinePayload: deflateSync(proto.HistorySync.encode(sync).finish()),
      },
    },
  };
}
