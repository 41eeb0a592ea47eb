/** One message received and not yet marked read. */
export interface UnreadEntry {
  id: string;
  /** Groups: the member who sent it (a read receipt in a group names the sender). */
  participant?: string | undefined;
  /** When the sender says it sent it, epoch ms. */
  sentAt: number;
}

export interface UnreadLedgerLimits {
  /** Most unread messages kept per chat (the oldest go first). */
  perChat: number;
  /** Most unread messages kept in all (the chat least recently written to gives up its oldest first). */
  total: number;
}

/**
 * Per session, the messages received (their message_received confirmed) and not yet marked read,
 * by chat: what `mark_read` with `upTo` marks. Bounded per chat and in total, so a chatty
 * contact or many chats cost bounded memory; what was evicted or forgotten (a restart) is
 * simply not marked by `upTo` (the caller says so). In memory only.
 *
 * A chat is keyed by the JID `mark_read` addresses it by: the group, or a contact's phone JID;
 * a contact writing from its LID is reachable by the LID too (`alias`).
 */
export class UnreadLedger {
  /** chat → id → entry; both Maps in insertion order: chats by last write (least recent first), entries by arrival. */
  private readonly chats = new Map<string, Map<string, UnreadEntry>>();
  /** A contact's other JID (its LID) → the chat key, bounded like the chats. */
  private readonly aliases = new Map<string, string>();
  private count = 0;

  constructor(private readonly limits: UnreadLedgerLimits) {
    if (limits.perChat < 1 || limits.total < 1) throw new RangeError('unread ledger limits must be at least 1');
  }

  /** How many unread messages are kept, in all. */
  get size(): number {
    return this.count;
  }

  /** The chat key `jid` names: itself, or the chat its alias points to. */
  resolve(jid: string): string {
    return this.aliases.get(jid) ?? jid;
  }

  /** A message arrived in `chat` (`alias`: the contact's other JID). An id already kept stays where it was. */
  add(chat: string, entry: UnreadEntry, alias?: string): void {
    if (alias && alias !== chat) {
      this.aliases.delete(alias);
      this.aliases.set(alias, chat);
      while (this.aliases.size > this.limits.total) this.aliases.delete(this.aliases.keys().next().value as string);
    }
    let entries = this.chats.get(chat);
    if (entries)
      this.chats.delete(chat); // re-inserted below: the most recently written chat
    else entries = new Map();
    this.chats.set(chat, entries);
    if (entries.has(entry.id)) return;
    entries.set(entry.id, entry);
    this.count++;
    while (entries.size > this.limits.perChat) this.dropOldest(chat, entries);
    while (this.count > this.limits.total) {
      const [oldestChat, oldest] = this.chats.entries().next().value as [string, Map<string, UnreadEntry>];
      this.dropOldest(oldestChat, oldest);
    }
  }

  /** The unread message `id` of `chat`, if kept. */
  get(chat: string, id: string): UnreadEntry | undefined {
    return this.chats.get(chat)?.get(id);
  }

  /**
   * The unread messages of `chat` up to and including `id`, in arrival order: those that arrived
   * before it, and any that arrived after it but were sent before it (a late delivery); undefined
   * when `id` is not kept.
   */
  upTo(chat: string, id: string): UnreadEntry[] | undefined {
    const entries = this.chats.get(chat);
    const last = entries?.get(id);
    if (!entries || !last) return undefined;
    const out: UnreadEntry[] = [];
    let after = false;
    for (const e of entries.values()) {
      if (!after || e.sentAt < last.sentAt) out.push(e);
      if (e === last) after = true;
    }
    return out;
  }

  /** These messages of `chat` were marked read: forgotten. */
  remove(chat: string, ids: Iterable<string>): void {
    const entries = this.chats.get(chat);
    if (!entries) return;
    for (const id of ids) if (entries.delete(id)) this.count--;
    if (entries.size === 0) this.chats.delete(chat);
  }

  private dropOldest(chat: string, entries: Map<string, UnreadEntry>): void {
    const first = entries.keys().next();
    if (!first.done) {
      entries.delete(first.value);
      this.count--;
    }
    if (entries.size === 0) this.chats.delete(chat);
  }
}
