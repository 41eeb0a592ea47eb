/**
 * Group notifications as WhatsApp pushes them (protocol notes 2 §8.3): what a contact does to a group
 * reaches every member account's devices as `<notification from=<group> type="w:gp2" id t participant=<actor LID>
 * participant_pn addressing_mode="lid"><CHILD/></notification>` (queued for offline devices, dropped once the
 * device acks it with `<ack class="notification">`). Control methods (the actor is an emulated contact):
 * - `createGroup(creator, subject, members)`: `<create><group …metadata/></create>` (Baileys: `groups.upsert`);
 * - `addParticipants`, `removeParticipants`, `promote`, `demote`: `<add|remove|promote|demote><participant jid=<LID>
 *   phone_number=<PN>/>…</…>`; a removal reaches the removed accounts too, then they are no longer members;
 * - `setSubject`, `setDescription`, `setSetting` (announcement, not_announcement, locked, unlocked), `setEphemeral`;
 * - `requestMembership(group, requester, method)`: `<created_membership_requests request_method>`, to the group's
 *   admin accounts only.
 * Removed contacts are remembered in `formerMembers`: group-send.ts tries each later account message on them with the
 * sender key they kept (WhatsApp no longer fans out to them): `formerMemberReads` says whether they could have read it.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import { node, serverId, unixNow } from './frames.js';
import { groupMetadataNode } from './group-send.js';
import type { Group } from './groups.js';
import type { EmulatorServer } from './server.js';

export type GroupSetting = 'announcement' | 'not_announcement' | 'locked' | 'unlocked';

export class GroupNotify {
  /** Every notification pushed (id, group, child tag), in order. */
  readonly sent: Array<{ id: string; group: string; tag: string }> = [];
  /** What each member contact's phone was told (a contact stands for a phone with its own devices), in order. */
  private readonly toContacts: Array<{ contact: string; id: string; group: string; tag: string }> = [];

  constructor(private readonly server: EmulatorServer) {}

  /** A contact creates a group with these members (phones: contacts or accounts); the creator is superadmin. */
  createGroup(creatorPhone: string, subject: string, memberPhones: string[], opts: { admins?: string[] } = {}): { jid: string; notificationId: string } {
    const { jid } = this.server.createGroup(subject, [creatorPhone, ...memberPhones.filter((p) => p !== creatorPhone)], opts);
    const group = this.group(jid);
    const id = this.notify(group, group.creator, node('create', {}, [groupMetadataNode(this.server, group)]));
    return { jid, notificationId: id };
  }

  /**
   * A group an account created (group-admin.ts `<create>`): `<create>` with its metadata to every member, the
   * creating account's devices included (Baileys: `groups.upsert`; the worker: `group_joined` "created").
   */
  announceCreated(groupJid: string, creatorPhone: string): string {
    const group = this.group(groupJid);
    return this.notify(group, creatorPhone, node('create', {}, [groupMetadataNode(this.server, group)]));
  }

  /** The notifications a member contact was sent (id, group, child tag), in order. */
  seenBy(contactPhone: string): Array<{ id: string; group: string; tag: string }> {
    const digits = contactPhone.replace(/\D/g, '');
    return this.toContacts.filter((n) => n.contact === digits).map(({ id, group, tag }) => ({ id, group, tag }));
  }

  addParticipants(actorPhone: string, groupJid: string, phones: string[]): string {
    const group = this.group(groupJid);
    const ids = phones.map((p) => this.member(p));
    for (const m of ids) group.members.add(m.phone);
    return this.notify(
      group,
      this.member(actorPhone).phone,
      node(
        'add',
        {},
        ids.map((m) => this.participant(m)),
      ),
    );
  }

  removeParticipants(actorPhone: string, groupJid: string, phones: string[]): string {
    const group = this.group(groupJid);
    const ids = phones.map((p) => this.member(p));
    // the removed hear of it too: sent before they leave the member list
    const id = this.notify(
      group,
      this.member(actorPhone).phone,
      node(
        'remove',
        {},
        ids.map((m) => this.participant(m)),
      ),
    );
    for (const m of ids) {
      group.members.delete(m.phone);
      group.admins.delete(m.phone);
      if (this.server.contacts.get(m.phone)) (group.formerMembers ??= new Set()).add(m.phone);
    }
    return id;
  }

  promote(actorPhone: string, groupJid: string, phones: string[]): string {
    const group = this.group(groupJid);
    const ids = phones.map((p) => this.member(p));
    for (const m of ids) group.admins.add(m.phone);
    return this.notify(
      group,
      this.member(actorPhone).phone,
      node(
        'promote',
        {},
        ids.map((m) => this.participant(m)),
      ),
    );
  }

  demote(actorPhone: string, groupJid: string, phones: string[]): string {
    const group = this.group(groupJid);
    const ids = phones.map((p) => this.member(p));
    for (const m of ids) group.admins.delete(m.phone);
    return this.notify(
      group,
      this.member(actorPhone).phone,
      node(
        'demote',
        {},
        ids.map((m) => this.participant(m)),
      ),
    );
  }

  setSubject(actorPhone: string, groupJid: string, subject: string): string {
    const group = this.group(groupJid);
    group.subject = subject;
    const actor = this.member(actorPhone);
    return this.notify(group, actor.phone, node('subject', { subject, s_o: actor.lid, s_t: unixNow() }));
  }

  setDescription(actorPhone: string, groupJid: string, description: string | undefined): string {
    const group = this.group(groupJid);
    const child =
      description === undefined
        ? node('description', { id: serverId('D'), delete: 'true' })
        : node('description', { id: serverId('D') }, [node('body', {}, new TextEncoder().encode(description))]);
    return this.notify(group, this.member(actorPhone).phone, child);
  }

  setSetting(actorPhone: string, groupJid: string, setting: GroupSetting): string {
    return this.notify(this.group(groupJid), this.member(actorPhone).phone, node(setting));
  }

  setEphemeral(actorPhone: string, groupJid: string, seconds: number): string {
    const child = seconds > 0 ? node('ephemeral', { expiration: String(seconds) }) : node('not_ephemeral');
    return this.notify(this.group(groupJid), this.member(actorPhone).phone, child);
  }

  /** Someone (not a member) asks to join: WhatsApp tells the group's admins. */
  requestMembership(groupJid: string, requesterPhone: string, method = 'invite_link'): string {
    const group = this.group(groupJid);
    const requester = this.member(requesterPhone);
    const admins = (phone: string) => phone === group.creator || group.admins.has(phone);
    return this.notify(group, requester.phone, node('created_membership_requests', { request_method: method }, [this.participant(requester)]), admins);
  }

  /** Whether each removed contact could have read the account's later messages with the sender key it kept. */
  formerMemberReads(groupJid: string): Array<{ id: string; phone: string; decrypted: boolean }> {
    return [...(this.server.groups.get(groupJid)?.formerMemberReads ?? [])];
  }

  /** Pushes one notification to the member accounts' devices (those `to` keeps); its id. */
  private notify(group: Group, actorPhone: string, child: BinaryNode, to: (phone: string) => boolean = () => true): string {
    const actor = this.member(actorPhone);
    const id = serverId('gp2');
    const stanza = node(
      'notification',
      { from: group.jid, type: 'w:gp2', id, t: unixNow(), participant: actor.lid, participant_pn: actor.pn, addressing_mode: 'lid' },
      [child],
    );
    for (const phone of group.members) {
      const account = this.server.accounts.get(phone);
      if (!to(phone)) continue;
      if (!account) {
        if (this.server.contacts.get(phone)) this.toContacts.push({ contact: phone, id, group: group.jid, tag: child.tag });
        continue;
      }
      for (const device of account.devices.values()) this.server.delivery.deliver(account, device, stanza, async () => stanza);
    }
    this.sent.push({ id, group: group.jid, tag: child.tag });
    this.server.changed();
    return id;
  }

  private group(jid: string): Group {
    const group = this.server.groups.get(jid);
    if (!group) throw new Error(`unknown group ${jid}`);
    return group;
  }

  /** A contact or account by phone (an unknown phone becomes a contact), with its JIDs. */
  private member(phone: string): { phone: string; lid: string; pn: string } {
    const digits = phone.replace(/\D/g, '');
    const known = this.server.accounts.get(digits) ?? this.server.contacts.get(digits) ?? this.server.contacts.add(digits);
    return { phone: known.phone, lid: `${known.lid}@lid`, pn: `${known.phone}@s.whatsapp.net` };
  }

  private participant(m: { lid: string; pn: string }): BinaryNode {
    return node('participant', { jid: m.lid, phone_number: m.pn });
  }
}
