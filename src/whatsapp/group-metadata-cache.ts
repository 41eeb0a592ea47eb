import type { GroupMetadata, GroupParticipant } from '@whiskeysockets/baileys';
import type { GroupEvent, NotifiedMember } from './types.js';

/**
 * One session's group metadata, bounded (the least recently used group is dropped first), handed
 * to Baileys as `cachedGroupMetadata`: without it Baileys asks WhatsApp for the whole metadata
 * before EVERY group send (notes 2 §8.4), thousands of participants for a large group. Filled by
 * the first send's query (or a `<create>` notification), then kept true by the group
 * notifications (`apply`): participants added/removed/promoted/demoted, subject, settings.
 * A group the account left or was removed from is dropped.
 */
export class GroupMetadataCache {
  /** insertion order = recency (`set` re-inserts) */
  private readonly map = new Map<string, GroupMetadata>();
  /** Metadata queries sent because a group was not cached (tests, bench). */
  fetches = 0;

  constructor(private readonly capacity: number) {
    if (capacity < 1) throw new RangeError('capacity must be at least 1');
  }

  private readonly groups = {
    size: () => this.map.size,
    get: (jid: string) => this.map.get(jid),
    delete: (jid: string) => void this.map.delete(jid),
    set: (jid: string, metadata: GroupMetadata) => {
      this.map.delete(jid);
      this.map.set(jid, metadata);
      for (const oldest of this.map.keys()) {
        if (this.map.size <= this.capacity) break;
        this.map.delete(oldest);
      }
    },
  };

  get size(): number {
    return this.groups.size();
  }

  get(jid: string): GroupMetadata | undefined {
    const found = this.groups.get(jid);
    if (found) this.groups.set(jid, found); // refresh its recency
    return found;
  }

  set(metadata: GroupMetadata): void {
    this.groups.set(metadata.id, metadata);
  }

  delete(jid: string): void {
    this.groups.delete(jid);
  }

  /** The cached metadata, else `fetch`'s (then cached); undefined when the fetch fails (Baileys then asks itself and reports the error). */
  async getOrFetch(jid: string, fetch: (jid: string) => Promise<GroupMetadata>): Promise<GroupMetadata | undefined> {
    const cached = this.get(jid);
    if (cached) return cached;
    this.fetches += 1;
    try {
      const metadata = await fetch(jid);
      this.set(metadata);
      return metadata;
    } catch {
      return undefined;
    }
  }

  /** Keeps a cached group true after a notification; `isMe` tells whether a member is the account. */
  apply(event: GroupEvent, isMe: (member: NotifiedMember) => boolean): void {
    const cached = this.groups.get(event.group);
    if (!cached) return;
    if (event.kind === 'updated') {
      const c = event.changes;
      this.groups.set(event.group, {
        ...cached,
        ...(c.subject !== undefined ? { subject: c.subject } : {}),
        ...(c.description !== undefined ? { desc: c.description ?? undefined } : {}),
        ...(c.announce !== undefined ? { announce: c.announce } : {}),
        ...(c.locked !== undefined ? { restrict: c.locked } : {}),
        ...(c.ephemeralSeconds !== undefined ? { ephemeralDuration: c.ephemeralSeconds || undefined } : {}),
        ...(c.memberAddMode !== undefined ? { memberAddMode: c.memberAddMode === 'all_member_add' } : {}),
        ...(c.joinApproval !== undefined ? { joinApprovalMode: c.joinApproval } : {}),
      });
      return;
    }
    if (event.kind !== 'participants_changed') return;
    if ((event.action === 'removed' || event.action === 'left') && event.participants.some(isMe)) {
      this.groups.delete(event.group); // no longer ours: nothing to send there
      return;
    }
    const same = (p: GroupParticipant, m: NotifiedMember) => (!!m.lid && p.id === m.lid) || (!!m.pn && (p.id === m.pn || p.phoneNumber === m.pn));
    let participants = cached.participants;
    if (event.action === 'added') {
      const fresh = event.participants.filter((m) => !participants.some((p) => same(p, m)));
      participants = [...participants, ...fresh.map(toParticipant)];
    } else if (event.action === 'removed' || event.action === 'left') {
      participants = participants.filter((p) => !event.participants.some((m) => same(p, m)));
    } else {
      const admin = event.action === 'promoted' ? 'admin' : null;
      participants = participants.map((p) => (event.participants.some((m) => same(p, m)) ? { ...p, admin } : p));
    }
    this.groups.set(event.group, { ...cached, participants, size: participants.length });
  }
}

function toParticipant(m: NotifiedMember): GroupParticipant {
  const id = m.lid ?? m.pn ?? '';
  return { id, ...(m.lid && m.pn ? { phoneNumber: m.pn } : {}), admin: m.admin ?? null };
}
