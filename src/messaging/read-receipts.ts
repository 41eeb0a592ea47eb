import type { Logger } from 'pino';
import type { MarkReadCommand } from '../commands/command.js';
import { isGroupJid } from '../commands/recipient.js';
import type { Events } from '../events/event-publisher.js';
import type { IncomingMessage, ReadKey } from '../whatsapp/types.js';
import { answerCommand } from './answer-command.js';
import { Lru } from './lru.js';
import type { MessagingHost } from './messaging-host.js';
import { SendFailure } from './outgoing-content.js';
import { UnreadLedger, type UnreadLedgerLimits } from './unread-ledger.js';

export interface ReadReceiptsDeps {
  host: MessagingHost;
  events: Events;
  sendWaitForOpenMs: number;
  log: Logger;
  /** Group senders remembered (read or not): the recentCapacity of the session. */
  capacity: number;
  unread: UnreadLedgerLimits;
}

/** What a `mark_read` asked, as its failure event repeats it. */
export function markReadAsked(cmd: MarkReadCommand): { chat: string; messageIds?: string[]; upTo?: string } {
  return { chat: cmd.chat, ...(cmd.messageIds ? { messageIds: cmd.messageIds } : {}), ...(cmd.upTo ? { upTo: cmd.upTo } : {}) };
}

/** The ledger key of a received message's chat (a group, or the contact's phone JID) and its other JID (the contact's LID). */
function chatOf(m: Pick<IncomingMessage, 'chat' | 'isGroup' | 'from'>): { chat: string; alias: string | undefined } {
  if (m.isGroup) return { chat: m.chat, alias: undefined };
  const chat = m.from.pn ?? m.chat;
  const alias = m.from.lid ?? (m.chat !== chat ? m.chat : undefined);
  return { chat, alias: alias !== chat ? alias : undefined };
}

/** What one `mark_read` marks: the receipts to send, the ids left out (a group sender nobody knows), whether `upTo` was remembered. */
interface ReadPlan {
  keys: ReadKey[];
  skipped: string[];
  upToRemembered: boolean | undefined;
}

/**
 * `mark_read` and what it needs: the messages received and not yet read, by chat (for `upTo`),
 * and who sent recent group messages (a read receipt in a group names the sender of each
 * message). Answered with messages_read (the ids marked, each once; group ids whose sender is
 * unknown listed in `skipped`), or mark_read_failed: UNKNOWN_MESSAGE when no id at all could be
 * marked, or as any answered command (see answer-command.ts). A redelivery marks again: harmless.
 */
export class ReadReceipts {
  private readonly unread: UnreadLedger;
  /** `group\0id` → the member who sent it. */
  private readonly senders: Lru<string, string>;

  constructor(private readonly deps: ReadReceiptsDeps) {
    this.unread = new UnreadLedger(deps.unread);
    this.senders = new Lru(deps.capacity);
  }

  /** How many received messages are waiting to be read (all chats). */
  get unreadCount(): number {
    return this.unread.size;
  }

  /** A message whose message_received is confirmed: unread until mark_read or autoRead. */
  received(m: IncomingMessage): void {
    const { chat, alias } = chatOf(m);
    if (m.isGroup && m.participant) this.senders.set(`${chat}\0${m.id}`, m.participant);
    this.unread.add(chat, { id: m.id, participant: m.participant, sentAt: m.sentAt }, alias);
  }

  /** autoRead sent this message's receipt on its own. */
  readOnArrival(m: IncomingMessage): void {
    this.unread.remove(chatOf(m).chat, [m.id]);
  }

  markRead(cmd: MarkReadCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const { host, events, sendWaitForOpenMs, log } = this.deps;
    const chat = this.unread.resolve(cmd.chatJid);
    let unknown: string[] = [];
    return answerCommand(
      { host, sendWaitForOpenMs, log },
      cmd,
      'the read receipts',
      async (conn) => {
        // Planned once the session is open: messages that arrived while it was opening count too.
        const plan = this.plan(cmd, chat);
        if (plan.keys.length === 0) {
          unknown = plan.skipped;
          throw new SendFailure(
            'UNKNOWN_MESSAGE',
            `the sender of ${unknown.join(', ').slice(0, 300)} in ${cmd.chat} is not known to this session (a group read receipt names it): give "participant"`,
          );
        }
        await conn.markRead(cmd.chatJid, plan.keys);
        return plan;
      },
      (subject, plan) => {
        const messageIds = plan.keys.map((k) => k.id);
        this.unread.remove(chat, messageIds);
        return events.message('messages_read', subject, {
          chat: cmd.chat,
          messageIds,
          ...(plan.skipped.length ? { skipped: plan.skipped } : {}),
          ...(cmd.upTo ? { upTo: cmd.upTo, upToRemembered: plan.upToRemembered ?? false } : {}),
        });
      },
      (subject, failure) =>
        events.message('mark_read_failed', subject, { ...markReadAsked(cmd), ...(unknown.length ? { unknownIds: unknown } : {}), ...failure }),
      defer,
    );
  }

  private plan(cmd: MarkReadCommand, chat: string): ReadPlan {
    let wanted: ReadKey[];
    let upToRemembered: boolean | undefined;
    if (cmd.upTo !== undefined) {
      const entries = this.unread.upTo(chat, cmd.upTo);
      upToRemembered = entries !== undefined;
      // Not remembered (a restart, evicted, already read): the receipt for that one message.
      wanted = entries ? entries.map((e) => ({ id: e.id, participant: e.participant })) : [{ id: cmd.upTo }];
    } else {
      wanted = (cmd.messageIds ?? []).map((id) => ({ id }));
    }
    if (!isGroupJid(cmd.chatJid)) return { keys: wanted.map(({ id }) => ({ id })), skipped: [], upToRemembered };
    const keys: ReadKey[] = [];
    const skipped: string[] = [];
    for (const { id, participant } of wanted) {
      // What WhatsApp told this session first; the backend's word for what it no longer remembers.
      const sender = participant ?? this.unread.get(chat, id)?.participant ?? this.senders.get(`${chat}\0${id}`) ?? cmd.participant;
      if (sender) keys.push({ id, participant: sender });
      else skipped.push(id);
    }
    return { keys, skipped, upToRemembered };
  }
}
