import { proto, WAMessageStubType, type GroupMetadata, type WAMessage } from '@whiskeysockets/baileys';
import type { GroupChanges, GroupEvent, NotifiedMember } from './types.js';

/**
 * Group notifications (`<notification type="w:gp2">`, protocol notes 2 §8.3) as Baileys hands them
 * over: each becomes a stub message upserted as 'append' whose key carries the notification's id,
 * the group and the actor, before Baileys derives `groups.update` / `group-participants.update` /
 * `group.join-request` from the same stub (those lose the notification id). Translating the stub
 * gives one source with a stable id (the eventId derives from it: a redelivered notification is
 * recognisably the same event). `groups.upsert` (a `<create>`) feeds the metadata cache first, so
 * the group_joined of a creation can count its participants.
 *
 * Everything here comes from WhatsApp and is bounded: JIDs must look like JIDs, texts are cut, at
 * most MAX_PARTICIPANTS members per event.
 */
export const MAX_PARTICIPANTS = 1024;
const MAX_TEXT = 2048;
const MEMBER_JID = /^\d{1,24}(:\d{1,3})?@(lid|s\.whatsapp\.net)$/;
const GROUP_JID = /^[\d-]{1,40}@g\.us$/;

const memberJid = (value: unknown): string | undefined => (typeof value === 'string' && MEMBER_JID.test(value) ? value.replace(/:\d+@/, '@') : undefined);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value.slice(0, MAX_TEXT) : undefined);

/** A member by either JID; which kind is told by the suffix. */
function member(a: unknown, b?: unknown, admin?: unknown): NotifiedMember | undefined {
  const ids = [memberJid(a), memberJid(b)];
  const lid = ids.find((j) => j?.endsWith('@lid'));
  const pn = ids.find((j) => j?.endsWith('@s.whatsapp.net'));
  if (!lid && !pn) return undefined;
  const role = admin === 'admin' || admin === 'superadmin' ? admin : admin === null ? null : undefined;
  return { ...(lid ? { lid } : {}), ...(pn ? { pn } : {}), ...(role !== undefined ? { admin: role } : {}) };
}

/** A stub parameter Baileys wrote as JSON (`{ id, phoneNumber, lid, admin }`, or `{ lid, pn }` for requests); undefined when it is not one. */
function parsedMember(param: string | null | undefined): NotifiedMember | undefined {
  if (!param || param.length > 1024) return undefined;
  try {
    const p = JSON.parse(param) as Record<string, unknown>;
    return member(p.id ?? p.lid, p.phoneNumber ?? p.pn ?? p.lid, p.admin);
  } catch {
    return undefined;
  }
}

const PARTICIPANT_ACTIONS = new Map<number, 'added' | 'removed' | 'left' | 'promoted' | 'demoted'>([
  [WAMessageStubType.GROUP_PARTICIPANT_ADD, 'added'],
  [WAMessageStubType.GROUP_PARTICIPANT_INVITE, 'added'],
  [WAMessageStubType.GROUP_PARTICIPANT_ADD_REQUEST_JOIN, 'added'],
  [WAMessageStubType.GROUP_PARTICIPANT_REMOVE, 'removed'],
  [WAMessageStubType.GROUP_PARTICIPANT_LEAVE, 'left'],
  [WAMessageStubType.GROUP_PARTICIPANT_PROMOTE, 'promoted'],
  [WAMessageStubType.GROUP_PARTICIPANT_DEMOTE, 'demoted'],
]);

/** The settings change a stub carries (undefined: not a settings stub). */
function changesOf(type: number, params: readonly string[]): GroupChanges | undefined {
  const [first] = params;
  switch (type) {
    case WAMessageStubType.GROUP_CHANGE_SUBJECT:
      return { subject: text(first) ?? '' };
    case WAMessageStubType.GROUP_CHANGE_DESCRIPTION:
      return { description: text(first) ?? null };
    case WAMessageStubType.GROUP_CHANGE_ANNOUNCE:
      return { announce: first === 'on' || first === 'true' };
    case WAMessageStubType.GROUP_CHANGE_RESTRICT:
      return { locked: first === 'on' || first === 'true' };
    case WAMessageStubType.GROUP_CHANGE_INVITE_LINK:
      return first ? { inviteCode: first.slice(0, 64) } : undefined;
    case WAMessageStubType.GROUP_MEMBER_ADD_MODE:
      return { memberAddMode: first === 'all_member_add' ? 'all_member_add' : 'admin_add' };
    case WAMessageStubType.GROUP_MEMBERSHIP_JOIN_APPROVAL_MODE:
      return { joinApproval: first === 'on' };
    default:
      return undefined;
  }
}

/**
 * The group events of one upserted message: none unless it is a group notification's stub (or the
 * ephemeral-setting protocol message Baileys makes of `<ephemeral>`/`<not_ephemeral>`).
 * `isMe` tells whether a member is the account; `metadataOf` reads the metadata cache.
 */
export function toGroupEvents(m: WAMessage, isMe: (member: NotifiedMember) => boolean, metadataOf: (jid: string) => GroupMetadata | undefined): GroupEvent[] {
  const group = m.key.remoteJid ?? '';
  const id = m.key.id ?? '';
  if (!GROUP_JID.test(group) || !id || id.length > 128) return [];
  // rc14 loses the actor's PN (`participant_pn`) on the way to the stub (its proto key has no participantAlt):
  // the cached metadata names it when the actor is a known member
  const known = metadataOf(group)?.participants.find((p) => p.id === m.key.participant);
  const actor = member(m.key.participant, m.key.participantAlt ?? known?.phoneNumber);
  const seconds = Number(m.messageTimestamp ?? 0);
  const base = { id, group, at: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Date.now(), ...(actor ? { actor } : {}) };
  const protocol = m.message?.protocolMessage;
  // `<ephemeral>` has no stub: Baileys makes it a protocol message with the actor in the key
  if (protocol?.type === proto.Message.ProtocolMessage.Type.EPHEMERAL_SETTING && !m.messageStubType) {
    const secs = Number(protocol.ephemeralExpiration ?? 0);
    return [{ ...base, kind: 'updated', changes: { ephemeralSeconds: Number.isFinite(secs) && secs > 0 ? Math.floor(secs) : 0 } }];
  }
  const type = m.messageStubType;
  if (!type) return [];
  const params: string[] = (m.messageStubParameters ?? []).slice(0, MAX_PARTICIPANTS).map((p: unknown) => String(p));
  if (type === WAMessageStubType.GROUP_CREATE) {
    const metadata = metadataOf(group);
    const subject = text(params[0]) ?? metadata?.subject;
    return [
      {
        ...base,
        kind: 'joined',
        how: 'created',
        ...(subject !== undefined ? { subject } : {}),
        ...(metadata ? { participantCount: metadata.participants.length } : {}),
        ...(metadata ? { participants: membersOf(metadata) } : {}),
      },
    ];
  }
  const action = PARTICIPANT_ACTIONS.get(type);
  if (action) {
    const participants = params.map(parsedMember).filter((p): p is NotifiedMember => p !== undefined);
    const changed: GroupEvent = { ...base, kind: 'participants_changed', action, participants };
    if (action !== 'added' || !participants.some(isMe)) return [changed];
    // we were added: the group is new to us
    const metadata = metadataOf(group);
    return [
      changed,
      {
        ...base,
        kind: 'joined',
        how: 'added',
        ...(metadata ? { subject: metadata.subject, participantCount: metadata.participants.length } : {}),
      },
    ];
  }
  if (type === WAMessageStubType.GROUP_MEMBERSHIP_JOIN_APPROVAL_REQUEST_NON_ADMIN_ADD) {
    const participant = parsedMember(params[0]);
    const state = params[1];
    if (!participant || (state !== 'created' && state !== 'revoked' && state !== 'rejected')) return [];
    const method = text(params[2])?.slice(0, 64);
    return [{ ...base, kind: 'membership_request', action: state, participant, ...(method ? { method } : {}) }];
  }
  const changes = changesOf(type, params);
  return changes ? [{ ...base, kind: 'updated', changes }] : [];
}

/** The members of a metadata, bounded. */
export function membersOf(metadata: GroupMetadata): NotifiedMember[] {
  const out: NotifiedMember[] = [];
  for (const p of metadata.participants.slice(0, MAX_PARTICIPANTS)) {
    const m = member(p.id, p.phoneNumber ?? p.lid, p.admin ?? null);
    if (m) out.push(m);
  }
  return out;
}
