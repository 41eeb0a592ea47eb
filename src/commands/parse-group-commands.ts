import type { ErrorCode } from '../util/errors.js';
import { isWorkerError } from '../util/errors.js';
import {
  GROUP_ACTIONS,
  GROUP_EPHEMERAL_SECONDS,
  GROUP_PARTICIPANT_OPERATIONS,
  type GroupAction,
  type GroupChanges,
  type GroupCommandPart,
  type GroupParticipantOperation,
} from './command.js';
import { parsePictureChange, type ProfileFields } from './parse-profile-commands.js';
import { isGroupJid, recipientJid } from './recipient.js';
import { phoneField } from './session-identity.js';

/** WhatsApp's own limits: a subject of 100 characters, a description of 2048, 1024 members. */
export const GROUP_SUBJECT_MAX_CHARS = 100;
export const GROUP_DESCRIPTION_MAX_CHARS = 2048;
export const GROUP_PARTICIPANTS_MAX = 1024;
/** An invite code as WhatsApp issues it (22 letters and digits today; a little slack either way). */
const INVITE_CODE = /^[A-Za-z0-9]{10,64}$/;
/** The link WhatsApp shares an invite code in: the code is its last path segment. */
const INVITE_LINK = /^https:\/\/chat\.whatsapp\.com\/(?:invite\/)?([A-Za-z0-9]{10,64})\/?$/;

export type GroupParse<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; reason: string };

const fail = (code: ErrorCode, reason: string): { ok: false; code: ErrorCode; reason: string } => ({ ok: false, code, reason });
const chars = (s: string): number => [...s].length;
/** Control characters (a newline is allowed in a description, nowhere else). */
const CONTROL = /\p{Cc}/u;

/** The fields group commands read (shape-checked by the zod schema first). */
export interface GroupFields {
  group?: string | undefined;
  subject?: string | undefined;
  description?: string | undefined;
  participants?: readonly string[] | undefined;
  operation?: string | undefined;
  announce?: boolean | undefined;
  locked?: boolean | undefined;
  ephemeral?: number | undefined;
  revoke?: boolean | undefined;
  code?: string | undefined;
  picture?: ProfileFields['picture'];
  removePicture?: boolean | undefined;
}

/** `group`: a group JID (`…@g.us`, lower-cased). Missing: INVALID_COMMAND; anything else: INVALID_RECIPIENT. */
export function parseGroupJid(action: string, group: string | undefined): GroupParse<string> {
  if (group === undefined) return fail('INVALID_COMMAND', `"${action}" needs "group", the group's JID (…@g.us)`);
  let jid: string | undefined;
  try {
    jid = recipientJid(group);
  } catch {
    jid = undefined;
  }
  if (!jid || !isGroupJid(jid)) return fail('INVALID_RECIPIENT', `group: "${group.slice(0, 60)}" is not a group JID (…@g.us)`);
  return { ok: true, value: jid };
}

/**
 * `participants`: phones (→ `<digits>@s.whatsapp.net`) or user JIDs (`…@s.whatsapp.net`, `…@lid`),
 * each once in the order first given. Missing or empty: INVALID_COMMAND; more than 1024:
 * BATCH_TOO_LARGE; a phone that is not one: INVALID_PHONE; a JID that is not a user's: INVALID_RECIPIENT.
 */
export function parseParticipants(action: string, participants: readonly string[] | undefined): GroupParse<string[]> {
  if (participants === undefined || participants.length === 0) {
    return fail('INVALID_COMMAND', `"${action}" needs "participants", a non-empty array of phones or user JIDs`);
  }
  if (participants.length > GROUP_PARTICIPANTS_MAX) {
    return fail('BATCH_TOO_LARGE', `"participants" has ${participants.length} entries, more than WhatsApp's ${GROUP_PARTICIPANTS_MAX}`);
  }
  const jids = new Set<string>();
  for (const [i, raw] of participants.entries()) {
    if (raw.includes('@')) {
      let jid: string;
      try {
        jid = recipientJid(raw);
      } catch (err) {
        return fail(isWorkerError(err) ? err.code : 'INVALID_RECIPIENT', `participants[${i}]: ${(err as Error).message.replace(/^"to" /, '')}`);
      }
      if (isGroupJid(jid)) return fail('INVALID_RECIPIENT', `participants[${i}]: "${jid}" is a group, not a person`);
      jids.add(jid);
      continue;
    }
    const phone = phoneField(raw, `participants[${i}]`);
    if (!phone.ok) return phone;
    jids.add(recipientJid(phone.phone));
  }
  return { ok: true, value: [...jids] };
}

function parseSubject(subject: string): GroupParse<string> {
  const trimmed = subject.trim();
  if (!trimmed) return fail('INVALID_COMMAND', '"subject" must not be empty');
  if (chars(trimmed) > GROUP_SUBJECT_MAX_CHARS)
    return fail('INVALID_COMMAND', `"subject" has ${chars(trimmed)} characters, more than WhatsApp's ${GROUP_SUBJECT_MAX_CHARS}`);
  if (CONTROL.test(trimmed)) return fail('INVALID_COMMAND', '"subject" must not contain control characters');
  return { ok: true, value: trimmed };
}

/** The update_group fields → the changes (at least one), each checked against WhatsApp's limits. */
export function parseGroupChanges(f: GroupFields, limits: { maxMediaBytes: number }): GroupParse<GroupChanges> {
  const changes: GroupChanges = {};
  if (f.subject !== undefined) {
    const subject = parseSubject(f.subject);
    if (!subject.ok) return subject;
    changes.subject = subject.value;
  }
  if (f.description !== undefined) {
    if (chars(f.description) > GROUP_DESCRIPTION_MAX_CHARS)
      return fail('INVALID_COMMAND', `"description" has ${chars(f.description)} characters, more than WhatsApp's ${GROUP_DESCRIPTION_MAX_CHARS}`);
    if (CONTROL.test(f.description.replace(/\r?\n/g, '')))
      return fail('INVALID_COMMAND', '"description" must not contain control characters (newlines excepted)');
    changes.description = f.description;
  }
  if (f.announce !== undefined) changes.announce = f.announce;
  if (f.locked !== undefined) changes.locked = f.locked;
  if (f.ephemeral !== undefined) {
    if (!(GROUP_EPHEMERAL_SECONDS as readonly number[]).includes(f.ephemeral)) {
      return fail('INVALID_COMMAND', `"ephemeral" must be one of ${GROUP_EPHEMERAL_SECONDS.join(', ')} seconds (0: off)`);
    }
    changes.ephemeral = f.ephemeral;
  }
  const picture = parsePictureChange(f, limits);
  if (!picture.ok) return picture;
  Object.assign(changes, picture.value);
  if (Object.keys(changes).length === 0) {
    return fail(
      'INVALID_COMMAND',
      '"update_group" needs at least one of "subject", "description", "announce", "locked", "ephemeral", "picture", "removePicture"',
    );
  }
  return { ok: true, value: changes };
}

/** `code`: an invite code, or the `https://chat.whatsapp.com/<code>` link it is shared in. */
export function parseInviteCode(action: string, code: string | undefined): GroupParse<string> {
  if (code === undefined) return fail('INVALID_COMMAND', `"${action}" needs "code", the invite code or its chat.whatsapp.com link`);
  const raw = code.trim();
  const fromLink = INVITE_LINK.exec(raw)?.[1];
  if (fromLink) return { ok: true, value: fromLink };
  if (INVITE_CODE.test(raw)) return { ok: true, value: raw };
  return fail('INVALID_COMMAND', `"code" "${raw.slice(0, 80)}" is neither an invite code (10 to 64 letters and digits) nor a chat.whatsapp.com link`);
}

const isOperation = (op: string): op is GroupParticipantOperation => (GROUP_PARTICIPANT_OPERATIONS as readonly string[]).includes(op);

/** Fields a command does not take are refused rather than ignored: a backend that sends them means something else. */
const FIELDS_OF: Record<GroupAction, ReadonlyArray<keyof GroupFields>> = {
  create_group: ['subject', 'participants'],
  update_group: ['group', 'subject', 'description', 'announce', 'locked', 'ephemeral', 'picture', 'removePicture'],
  group_participants: ['group', 'operation', 'participants'],
  group_invite: ['group', 'revoke'],
  join_group: ['code'],
  group_invite_info: ['code'],
  leave_group: ['group'],
  get_group: ['group'],
  list_groups: [],
  group_requests: ['group', 'operation', 'participants'],
};

/** One group command's own fields → its part of the command, or the precise reason it is refused. */
export function parseGroupCommand(action: GroupAction, f: GroupFields, limits: { maxMediaBytes: number }): GroupParse<GroupCommandPart> {
  const extra = (Object.keys(f) as Array<keyof GroupFields>).find((k) => f[k] !== undefined && !FIELDS_OF[action].includes(k));
  if (extra) return fail('INVALID_COMMAND', `"${action}" takes no "${extra}" (it takes ${FIELDS_OF[action].join(', ') || 'no fields'})`);
  switch (action) {
    case 'create_group': {
      if (f.subject === undefined) return fail('INVALID_COMMAND', '"create_group" needs "subject"');
      const subject = parseSubject(f.subject);
      if (!subject.ok) return subject;
      const participants = parseParticipants(action, f.participants);
      if (!participants.ok) return participants;
      return { ok: true, value: { action, subject: subject.value, participants: participants.value } };
    }
    case 'update_group': {
      const group = parseGroupJid(action, f.group);
      if (!group.ok) return group;
      const changes = parseGroupChanges(f, limits);
      return changes.ok ? { ok: true, value: { action, group: group.value, changes: changes.value } } : changes;
    }
    case 'group_participants': {
      const group = parseGroupJid(action, f.group);
      if (!group.ok) return group;
      if (f.operation === undefined || !isOperation(f.operation)) {
        return fail('INVALID_COMMAND', `"group_participants" needs "operation": one of ${GROUP_PARTICIPANT_OPERATIONS.join(', ')}`);
      }
      const participants = parseParticipants(action, f.participants);
      if (!participants.ok) return participants;
      return { ok: true, value: { action, group: group.value, operation: f.operation, participants: participants.value } };
    }
    case 'group_invite': {
      const group = parseGroupJid(action, f.group);
      return group.ok ? { ok: true, value: { action, group: group.value, revoke: f.revoke === true } } : group;
    }
    case 'join_group':
    case 'group_invite_info': {
      const code = parseInviteCode(action, f.code);
      return code.ok ? { ok: true, value: { action, code: code.value } } : code;
    }
    case 'leave_group':
    case 'get_group': {
      const group = parseGroupJid(action, f.group);
      return group.ok ? { ok: true, value: { action, group: group.value } } : group;
    }
    case 'list_groups':
      return { ok: true, value: { action } };
    case 'group_requests': {
      const group = parseGroupJid(action, f.group);
      if (!group.ok) return group;
      if (f.operation === 'list') {
        if (f.participants !== undefined) return fail('INVALID_COMMAND', '"group_requests" "list" takes no "participants"');
        return { ok: true, value: { action, group: group.value, operation: 'list' } };
      }
      if (f.operation !== 'approve' && f.operation !== 'reject') return fail('INVALID_COMMAND', '"group_requests" needs "operation": list, approve or reject');
      const participants = parseParticipants(action, f.participants);
      if (!participants.ok) return participants;
      return { ok: true, value: { action, group: group.value, operation: f.operation, participants: participants.value } };
    }
  }
}

export const isGroupAction = (action: string): action is GroupAction => (GROUP_ACTIONS as readonly string[]).includes(action);
/** The event that answers each group command (its failure event is `<name>_failed`, beside it in the catalogue). */
export const GROUP_ANSWERED_BY = {
  create_group: 'group_created',
  update_group: 'group_update_done',
  group_participants: 'group_participants_done',
  group_invite: 'group_invite_fetched',
  join_group: 'group_join_done',
  group_invite_info: 'group_invite_info_fetched',
  leave_group: 'group_left',
  list_groups: 'groups_listed',
  get_group: 'group_fetched',
  group_requests: 'group_requests_done',
} as const;
/** The failure event of each group command. */
export const GROUP_FAILED_BY = {
  create_group: 'group_create_failed',
  update_group: 'group_update_failed',
  group_participants: 'group_participants_failed',
  group_invite: 'group_invite_failed',
  join_group: 'group_join_failed',
  group_invite_info: 'group_invite_info_failed',
  leave_group: 'group_leave_failed',
  list_groups: 'groups_list_failed',
  get_group: 'group_fetch_failed',
  group_requests: 'group_requests_failed',
} as const;
