/**
 * Group administration IQs (`w:g2`, protocol notes 2 §8.1), answered as WhatsApp does:
 * - to `@g.us`: `<create subject key><participant jid/>…</create>` (set) → the new `<group>` with the
 *   account as creator (superadmin); a participant not on WhatsApp gets `error="404"`, one whose privacy
 *   refuses being added `error="403"` with `<add_request code expiration/>` (the invite an admin may send);
 *   `<leave><group id/></leave>` (set); `<participating>` (get) → `<groups><group>…</group>…</groups>`;
 *   `<invite code/>` set (join by code → `<group jid/>`) and get (the group's metadata); unknown code: 404.
 * - to a group: `<query>` (get, the metadata with description and settings); `<subject>`, `<description>`,
 *   `<announcement/>`/`<not_announcement/>`, `<locked/>`/`<unlocked/>`, `<ephemeral expiration/>`/
 *   `<not_ephemeral/>` (set); `<add|remove|promote|demote><participant jid/>…</…>` (set) → the same node with
 *   each participant's `error` (404 not on WhatsApp / not a member, 403 privacy, 409 already a member);
 *   `<invite/>` get (the code) and set (revoke: a new code); `<membership_approval_requests/>` (get, the pending requests)
 *   and `<membership_requests_action><approve|reject><participant jid/>…` (set; 404 for someone who did not ask).
 * Errors: an unknown group 404 `item-not-found`; a non-member 403 `forbidden`; a member who is not an admin
 * 401 `not-authorized` (settings, participants, invite; subject/description/ephemeral only when the group is
 * `locked`, as WhatsApp lets members edit an unlocked group's info).
 * Not emulated: the `w:gp2` notifications WhatsApp pushes members after each change (`groupNotification`
 * below builds one for whoever pushes them), the membership approval mode itself (any group takes requests), community groups.
 */
import { randomBytes } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { ClientConnection } from './connection.js';
import { child, children, iqResult, node, serverId, unixNow } from './frames.js';
import { countMetadataQuery, groupMetadataNode } from './group-send.js';
import type { Group } from './groups.js';
import type { EmulatorServer } from './server.js';

/** What group-send.ts's Group does not keep: the administrable settings. */
interface GroupSettings {
  description?: { text: string; id: string; t: string };
  announce: boolean;
  locked: boolean;
  ephemeral?: number;
  inviteCode: string;
  /** Membership requests (phone digits → unix seconds), for a group that approves joins (control: `requestToJoinGroup`). */
  requests: Map<string, number>;
  /** The group picture WhatsApp stores (the JPEG Baileys resized), set by an admin through `w:profile:picture`. */
  picture?: Uint8Array;
}

const iqError = (iq: BinaryNode, code: string, text: string): BinaryNode =>
  node('iq', { from: iq.attrs.to, type: 'error', id: iq.attrs.id }, [node('error', { code, text })]);
const text = (n: BinaryNode | undefined): string =>
  n?.content instanceof Uint8Array ? Buffer.from(n.content).toString('utf8') : typeof n?.content === 'string' ? n.content : '';
const newCode = (): string =>
  randomBytes(16)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 22)
    .padEnd(22, 'A');

export class GroupAdmin {
  private readonly settings = new Map<string, GroupSettings>();
  /** Phones (digits) whose privacy settings refuse being added to groups (control: `refuseGroupAdds`). */
  readonly refusingAdds = new Set<string>();

  constructor(private readonly server: EmulatorServer) {}

  settingsOf(group: Group): GroupSettings {
    let s = this.settings.get(group.jid);
    if (!s) this.settings.set(group.jid, (s = { announce: false, locked: false, inviteCode: newCode(), requests: new Map() }));
    return s;
  }

  /** The phone digits of a participant JID (`<digits>@s.whatsapp.net` or a LID), if an account or contact has it. */
  private phoneOf(jid: string | undefined): string | undefined {
    const [user = '', server] = (jid ?? '').split('@');
    const bare = user.split(':')[0] ?? '';
    if (server === 'lid') return (this.server.accounts.byLid(bare) ?? this.server.contacts.byLid(bare))?.phone;
    if (server === 's.whatsapp.net') return (this.server.accounts.get(bare) ?? this.server.contacts.get(bare))?.phone;
    return undefined;
  }

  /** The `<group>` node of the metadata query, with the description and the settings (notes §8.2). */
  metadataNode(group: Group): BinaryNode {
    const base = groupMetadataNode(this.server, group);
    const s = this.settingsOf(group);
    const extra: BinaryNode[] = [];
    if (s.description) extra.push(node('description', { id: s.description.id, t: s.description.t }, [node('body', {}, Buffer.from(s.description.text))]));
    if (s.announce) extra.push(node('announcement'));
    if (s.locked) extra.push(node('locked'));
    if (s.ephemeral) extra.push(node('ephemeral', { expiration: s.ephemeral }));
    return { ...base, content: [...children(base), ...extra] };
  }

  /** Answers a `w:g2` administration IQ; undefined for what it does not handle (group-send.ts answers the rest). */
  answerIq(conn: ClientConnection, iq: BinaryNode): BinaryNode | undefined {
    if (iq.attrs.xmlns === 'w:profile:picture' && iq.attrs.type === 'set' && iq.attrs.target?.endsWith('@g.us') && conn.account) {
      return this.setPicture(conn.account.phone, iq);
    }
    if (iq.attrs.xmlns !== 'w:g2' || !conn.account) return undefined;
    const me = conn.account.phone;
    const op = children(iq)[0];
    if (!op) return undefined;
    if (iq.attrs.to === '@g.us') return this.answerServerIq(iq, op, me);
    const group = this.server.groups.get(iq.attrs.to ?? '');
    if (!group) return iqError(iq, '404', 'item-not-found');
    if (!group.members.has(me)) return iqError(iq, '403', 'forbidden');
    const isAdmin = group.creator === me || group.admins.has(me);
    const s = this.settingsOf(group);
    const adminOnly = () => (isAdmin ? undefined : iqError(iq, '401', 'not-authorized'));
    const infoEdit = () => (s.locked ? adminOnly() : undefined);
    const done = (content?: BinaryNode[]) => {
      const answer = iqResult(iq, content);
      answer.attrs.from = group.jid;
      this.server.groupAdminChanged();
      return answer;
    };
    const type = iq.attrs.type;
    switch (op.tag) {
      case 'query':
        if (type !== 'get') return undefined;
        countMetadataQuery(group);
        return done([this.metadataNode(group)]);
      case 'subject': {
        const subject = text(op).trim();
        if (!subject) return iqError(iq, '400', 'bad-request');
        return infoEdit() ?? ((group.subject = subject), done());
      }
      case 'description': {
        const refused = infoEdit();
        if (refused) return refused;
        const body = text(child(op, 'body'));
        s.description = op.attrs.delete === 'true' || !body ? undefined : { text: body, id: op.attrs.id ?? newCode(), t: unixNow() };
        return done();
      }
      case 'announcement':
      case 'not_announcement':
        return adminOnly() ?? ((s.announce = op.tag === 'announcement'), done());
      case 'locked':
      case 'unlocked':
        return adminOnly() ?? ((s.locked = op.tag === 'locked'), done());
      case 'ephemeral':
      case 'not_ephemeral': {
        const refused = infoEdit();
        if (refused) return refused;
        const seconds = Number(op.attrs.expiration ?? 0);
        s.ephemeral = op.tag === 'ephemeral' && seconds > 0 ? seconds : undefined;
        return done();
      }
      case 'invite': {
        const refused = adminOnly();
        if (refused) return refused;
        if (type === 'set') s.inviteCode = newCode();
        return done([node('invite', { code: s.inviteCode })]);
      }
      case 'add':
      case 'remove':
      case 'promote':
      case 'demote': {
        const refused = adminOnly();
        if (refused) return refused;
        const results = children(op)
          .filter((p) => p.tag === 'participant')
          .map((p) => this.changeParticipant(group, op.tag, p.attrs.jid ?? ''));
        return done([node(op.tag, {}, results)]);
      }
      case 'membership_approval_requests': {
        const refused = adminOnly();
        if (refused) return refused;
        const requests = [...s.requests].map(([phone, t]) => {
          const who = this.server.accounts.get(phone) ?? this.server.contacts.get(phone);
          return node('membership_approval_request', { jid: `${who?.lid ?? phone}@lid`, phone_number: `${phone}@s.whatsapp.net`, request_time: t });
        });
        return done([node('membership_approval_requests', {}, requests)]);
      }
      case 'membership_requests_action': {
        const refused = adminOnly();
        if (refused) return refused;
        const action = children(op)[0];
        if (!action || (action.tag !== 'approve' && action.tag !== 'reject')) return iqError(iq, '400', 'bad-request');
        const results = children(action).map((p) => {
          const jid = p.attrs.jid ?? '';
          const phone = this.phoneOf(jid);
          if (!phone || !s.requests.delete(phone)) return node('participant', { jid, error: '404' });
          if (action.tag === 'approve') group.members.add(phone);
          return node('participant', { jid });
        });
        return done([node('membership_requests_action', {}, [node(action.tag, {}, results)])]);
      }
      default:
        return undefined;
    }
  }

  /** A group's picture (Baileys' updateProfilePicture / removeProfilePicture with the group as `target`): group info, so admins only when locked. */
  private setPicture(me: string, iq: BinaryNode): BinaryNode {
    const group = this.server.groups.get(iq.attrs.target ?? '');
    if (!group) return iqError(iq, '404', 'item-not-found');
    if (!group.members.has(me)) return iqError(iq, '403', 'forbidden');
    const s = this.settingsOf(group);
    if (s.locked && group.creator !== me && !group.admins.has(me)) return iqError(iq, '401', 'not-authorized');
    const picture = child(iq, 'picture')?.content;
    if (picture instanceof Uint8Array && picture.length > 0) s.picture = picture;
    else delete s.picture;
    this.server.groupAdminChanged();
    return iqResult(iq, s.picture ? [node('picture', { id: String(Date.now()) })] : undefined);
  }

  private changeParticipant(group: Group, operation: string, jid: string): BinaryNode {
    const phone = this.phoneOf(jid);
    const failed = (error: string, content?: BinaryNode[]) => node('participant', { jid, error }, content);
    if (operation === 'add') {
      if (!phone) return failed('404');
      if (group.members.has(phone)) return failed('409');
      if (this.refusingAdds.has(phone)) return failed('403', [this.addRequest(group)]);
      group.members.add(phone);
      return node('participant', { jid });
    }
    if (!phone || !group.members.has(phone)) return failed('404');
    if (operation === 'remove') {
      group.members.delete(phone);
      group.admins.delete(phone);
    } else if (operation === 'promote') group.admins.add(phone);
    else group.admins.delete(phone);
    return node('participant', { jid });
  }

  private addRequest(group: Group): BinaryNode {
    return node('add_request', { code: this.settingsOf(group).inviteCode, expiration: unixNow() + 3 * 24 * 3600 });
  }

  private answerServerIq(iq: BinaryNode, op: BinaryNode, me: string): BinaryNode | undefined {
    const type = iq.attrs.type;
    if (op.tag === 'create' && type === 'set') return this.create(iq, op, me);
    if (op.tag === 'participating' && type === 'get') {
      const mine = this.server.groups.all().filter((g) => g.members.has(me));
      return iqResult(iq, [
        node(
          'groups',
          {},
          mine.map((g) => this.metadataNode(g)),
        ),
      ]);
    }
    if (op.tag === 'leave' && type === 'set') {
      for (const g of children(op).filter((c) => c.tag === 'group')) {
        const id = g.attrs.id ?? '';
        const group = this.server.groups.get(id.includes('@') ? id : `${id}@g.us`);
        if (!group) return iqError(iq, '404', 'item-not-found');
        group.members.delete(me);
        group.admins.delete(me);
      }
      this.server.groupAdminChanged();
      return iqResult(iq);
    }
    if (op.tag === 'invite' && op.attrs.code) {
      const group = this.server.groups.all().find((g) => this.settingsOf(g).inviteCode === op.attrs.code);
      if (!group) return iqError(iq, '404', 'item-not-found');
      if (type === 'get') return iqResult(iq, [this.metadataNode(group)]);
      group.members.add(me);
      this.server.groupAdminChanged();
      return iqResult(iq, [node('group', { jid: group.jid })]);
    }
    return undefined;
  }

  private create(iq: BinaryNode, op: BinaryNode, me: string): BinaryNode {
    const subject = (op.attrs.subject ?? '').trim();
    if (!subject) return iqError(iq, '400', 'bad-request');
    const asked = children(op).filter((p) => p.tag === 'participant');
    const added: string[] = [];
    const refused: BinaryNode[] = [];
    const group = this.server.groups.create(subject, [me]);
    for (const p of asked) {
      const jid = p.attrs.jid ?? '';
      const phone = this.phoneOf(jid);
      if (!phone) refused.push(node('participant', { jid, error: '404' }));
      else if (this.refusingAdds.has(phone)) refused.push(node('participant', { jid, error: '403' }, [this.addRequest(group)]));
      else if (phone !== me) added.push(phone);
    }
    for (const phone of added) group.members.add(phone);
    const meta = this.metadataNode(group);
    // Every member's devices are told, as WhatsApp does (the creator's too: Baileys' groups.upsert).
    this.server.groupNotify.announceCreated(group.jid, me);
    this.server.groupAdminChanged();
    return iqResult(iq, [{ ...meta, content: [...children(meta), ...refused] }]);
  }
}

/**
 * The `w:gp2` notification WhatsApp sends a group's members after a change (protocol notes 2 §8.3), for whoever
 * pushes them (group-admin.ts pushes `<create>` only): from the group, `participant` the
 * actor's LID (and `participant_pn`), LID addressing, `t` always set, `change` its one child, e.g.
 * `node('subject', { subject, s_o, s_t })` or `node('add', {}, [memberNode(server, phone)])`.
 */
export function groupNotification(server: EmulatorServer, group: Group, actorPhone: string, change: BinaryNode): BinaryNode {
  const actor = server.accounts.get(actorPhone) ?? server.contacts.get(actorPhone);
  return node(
    'notification',
    {
      from: group.jid,
      type: 'w:gp2',
      id: serverId('gp2'),
      t: unixNow(),
      participant: actor ? `${actor.lid}@lid` : undefined,
      participant_pn: actor ? `${actor.phone}@s.whatsapp.net` : undefined,
      addressing_mode: 'lid',
    },
    [change],
  );
}

/** A member as `w:gp2` children name it: `<participant jid=<LID> phone_number=<PN> [type]/>`. */
export function memberNode(server: EmulatorServer, phone: string, type?: 'admin' | 'superadmin'): BinaryNode {
  const who = server.accounts.get(phone) ?? server.contacts.get(phone);
  return node('participant', { jid: who ? `${who.lid}@lid` : `${phone}@s.whatsapp.net`, phone_number: `${phone}@s.whatsapp.net`, type });
}
