import type { CreatedGroup, GroupChange, GroupInfo, GroupJoinRequest, GroupParticipantResult } from '../../src/whatsapp/types.js';

/**
 * The group side of the fake WhatsApp: every call recorded, answers from `groups`, and a
 * `failNext` error for the next call (e.g. a WorkerError NOT_ADMIN as baileys-groups.ts throws).
 */
export class FakeGroups {
  /** The groups the fake WhatsApp knows, by JID. */
  readonly groups = new Map<string, GroupInfo>();
  /** Every call, in order: the method and its arguments. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  /** Per-participant statuses add/create answer (default 200). */
  readonly statuses = new Map<string, number>();
  failNext: Error | undefined;
  private created = 0;

  private call(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.failNext;
    this.failNext = undefined;
    if (err) throw err;
  }

  private known(jid: string): GroupInfo {
    const group = this.groups.get(jid);
    if (!group) throw new Error(`fake: no group ${jid}`);
    return group;
  }

  async createGroup(subject: string, participants: readonly string[]): Promise<CreatedGroup> {
    this.call('createGroup', subject, participants);
    const jid = `12036300000000${++this.created}@g.us`;
    const failed = participants.flatMap((p) => ((this.statuses.get(p) ?? 200) === 200 ? [] : [{ jid: p, status: this.statuses.get(p)! }]));
    const added = participants.filter((p) => !failed.some((f) => f.jid === p));
    const group: GroupInfo = {
      jid,
      subject,
      size: added.length,
      announce: false,
      locked: false,
      joinApproval: false,
      participants: added.map((p) => ({ jid: p, role: 'member' as const })),
    };
    this.groups.set(jid, group);
    return { group, failed };
  }

  async groupMetadata(jid: string): Promise<GroupInfo> {
    this.call('groupMetadata', jid);
    return this.known(jid);
  }

  async listGroups(): Promise<GroupInfo[]> {
    this.call('listGroups');
    return [...this.groups.values()];
  }

  async updateGroup(jid: string, change: GroupChange): Promise<void> {
    this.call('updateGroup', jid, change);
  }

  async updateGroupParticipants(jid: string, participants: readonly string[], operation: string): Promise<GroupParticipantResult[]> {
    this.call('updateGroupParticipants', jid, participants, operation);
    return participants.map((p) => ({ jid: p, status: this.statuses.get(p) ?? 200 }));
  }

  async groupInviteCode(jid: string, revoke: boolean): Promise<string> {
    this.call('groupInviteCode', jid, revoke);
    return revoke ? 'NewInviteCode0123456789' : 'InviteCode0123456789AB';
  }

  async joinGroup(code: string): Promise<string> {
    this.call('joinGroup', code);
    return '120363999999999999@g.us';
  }

  async groupInviteInfo(code: string): Promise<GroupInfo> {
    this.call('groupInviteInfo', code);
    const first = [...this.groups.values()][0];
    if (!first) throw new Error('fake: no group');
    return first;
  }

  async leaveGroup(jid: string): Promise<void> {
    this.call('leaveGroup', jid);
  }

  /** The pending membership requests groupJoinRequests answers. */
  readonly joinRequests: GroupJoinRequest[] = [];

  async groupJoinRequests(jid: string): Promise<GroupJoinRequest[]> {
    this.call('groupJoinRequests', jid);
    return [...this.joinRequests];
  }

  async answerJoinRequests(jid: string, participants: readonly string[], approve: boolean): Promise<GroupParticipantResult[]> {
    this.call('answerJoinRequests', jid, participants, approve);
    return participants.map((p) => ({ jid: p, status: this.statuses.get(p) ?? 200 }));
  }
}
