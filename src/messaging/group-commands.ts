import type { Logger } from 'pino';
import type { GroupChanges, GroupCommand, GroupParticipantOperation } from '../commands/command.js';
import { GROUP_FAILED_BY } from '../commands/parse-group-commands.js';
import type { Events, MessageSubject } from '../events/event-publisher.js';
import type { ParticipantReason } from '../events/group-events.js';
import { isWorkerError } from '../util/errors.js';
import { Lru } from './lru.js';
import type { CreatedGroup, GroupChange, GroupInfo, GroupParticipantResult, WhatsAppConnection } from '../whatsapp/types.js';
import { answerCommand, type CommandFailure } from './answer-command.js';
import { SendFailure, type OutgoingMediaDeps } from './outgoing-content.js';
import { pictureBytes } from './profile-commands.js';
import type { MessagingHost } from './messaging-host.js';

type Defer = ((confirmed: Promise<unknown>) => void) | undefined;
/** What update_group reports as changed: a removed picture is `removePicture`. */
type GroupField = GroupChange['field'] | 'removePicture';

/** The refusals WhatsApp gives group IQs, kept as the command's own failure code (baileys-groups.ts `groupError`). */
const PRECISE = ['NOT_ADMIN', 'NOT_A_MEMBER', 'UNKNOWN_GROUP'] as const;

/** The fields of an update_group, in the order they are applied (the picture first: a bad one changes nothing). */
export const fieldsOf = (changes: GroupChanges): GroupField[] => [
  ...(changes.picture ? ['picture' as const] : []),
  ...(changes.removePicture ? ['removePicture' as const] : []),
  ...changesOf(changes).map((c) => c.field),
];

/** The update_group changes but the picture, in the order they are applied, one WhatsApp request each. */
export const changesOf = (changes: GroupChanges): GroupChange[] => [
  ...(changes.subject !== undefined ? [{ field: 'subject' as const, value: changes.subject }] : []),
  ...(changes.description !== undefined ? [{ field: 'description' as const, value: changes.description }] : []),
  ...(changes.announce !== undefined ? [{ field: 'announce' as const, value: changes.announce }] : []),
  ...(changes.locked !== undefined ? [{ field: 'locked' as const, value: changes.locked }] : []),
  ...(changes.ephemeral !== undefined ? [{ field: 'ephemeral' as const, value: changes.ephemeral }] : []),
];

/** WhatsApp's per-participant status → why it was not done (undefined: done). */
export function participantReason(status: number, operation: GroupParticipantOperation | 'create'): ParticipantReason | undefined {
  if (status === 200) return undefined;
  if (status === 403) return 'privacy';
  if (status === 404) return operation === 'add' || operation === 'create' ? 'not_on_whatsapp' : 'not_a_member';
  if (status === 409) return 'already_member';
  if (status === 401) return 'not_admin';
  return 'other';
}

const resultOf = (r: GroupParticipantResult, operation: GroupParticipantOperation | 'create') => {
  const reason = participantReason(r.status, operation);
  return { jid: r.jid, status: r.status, ok: reason === undefined, ...(reason ? { reason } : {}), ...(r.inviteCode ? { inviteCode: r.inviteCode } : {}) };
};

/** create_group answers remembered per session (each at most 1024 members: bounded memory). */
const CREATED_REMEMBERED = 64;

const inviteLink = (code: string): string => `https://chat.whatsapp.com/${code}`;

/**
 * Group administration: create_group, update_group, group_participants, group_invite, join_group,
 * group_invite_info, leave_group, list_groups, get_group, group_requests. Each is answered by its event
 * (see `answerCommand`). A redelivered create_group (same requestId) answers with the group it created
 * instead of creating a second one, while this process remembers it (CREATED_REMEMBERED); the others
 * ask WhatsApp again, which is harmless for each.
 */
export class GroupCommands {
  /** The groups created per requestId, so a redelivered create_group does not create a second group. */
  private readonly created = new Lru<string, CreatedGroup>(CREATED_REMEMBERED);

  constructor(
    private readonly host: MessagingHost,
    private readonly events: Events,
    private readonly deps: OutgoingMediaDeps & { sendWaitForOpenMs: number },
    private readonly log: Logger,
  ) {}

  run(cmd: GroupCommand, defer?: Defer): Promise<void> {
    const failed = (subject: MessageSubject, failure: CommandFailure) => answerGroupFailure(this.events, cmd, subject, failure);
    const ok = <T>(what: string, act: (conn: WhatsAppConnection) => Promise<T>, done: (subject: MessageSubject, result: T) => Promise<unknown>) =>
      this.answer(cmd, what, act, done, failed, defer);
    const message = this.events.message.bind(this.events);
    switch (cmd.action) {
      case 'create_group':
        return ok(
          'the group creation',
          async (conn) => {
            const known = this.created.get(cmd.requestId);
            if (known) return known;
            const created = await conn.createGroup(cmd.subject, cmd.participants);
            this.created.set(cmd.requestId, created);
            return created;
          },
          (subject, { group, failed: refused }) =>
            message('group_created', subject, {
              groupJid: group.jid,
              subject: group.subject,
              participants: group.participants,
              failed: refused.map((r) => resultOf(r, 'create')),
            }),
        );
      case 'update_group':
        return this.updateGroup(cmd, defer);
      case 'group_participants':
        return ok(
          `the participants ${cmd.operation}`,
          (conn) => conn.updateGroupParticipants(cmd.group, cmd.participants, cmd.operation),
          (subject, results) =>
            message('group_participants_done', subject, {
              groupJid: cmd.group,
              operation: cmd.operation,
              results: results.map((r) => resultOf(r, cmd.operation)),
            }),
        );
      case 'group_invite':
        return ok(
          'the invite code',
          (conn) => conn.groupInviteCode(cmd.group, cmd.revoke),
          (subject, code) =>
            message('group_invite_fetched', subject, { groupJid: cmd.group, inviteCode: code, inviteLink: inviteLink(code), revoked: cmd.revoke }),
        );
      case 'join_group':
        return ok(
          'the join',
          (conn) => conn.joinGroup(cmd.code),
          (subject, groupJid) => message('group_join_done', subject, { inviteCode: cmd.code, groupJid }),
        );
      case 'group_invite_info':
        return ok(
          'the invite query',
          (conn) => conn.groupInviteInfo(cmd.code),
          (subject, metadata) => message('group_invite_info_fetched', subject, { inviteCode: cmd.code, metadata }),
        );
      case 'leave_group':
        return ok(
          'leaving the group',
          (conn) => conn.leaveGroup(cmd.group),
          (subject) => message('group_left', subject, { groupJid: cmd.group }),
        );
      case 'list_groups':
        return ok(
          'the group list',
          (conn) => conn.listGroups(),
          (subject, groups: GroupInfo[]) => message('groups_listed', subject, { groups }),
        );
      case 'get_group':
        return ok(
          'the group query',
          (conn) => conn.groupMetadata(cmd.group),
          (subject, metadata) => message('group_fetched', subject, { metadata }),
        );
      case 'group_requests': {
        const { group: groupJid, operation } = cmd;
        if (cmd.operation === 'list') {
          return ok(
            'the membership requests',
            (conn) => conn.groupJoinRequests(groupJid),
            (subject, requests) => message('group_requests_done', subject, { groupJid, operation, requests }),
          );
        }
        const approve = cmd.operation === 'approve';
        const participants = cmd.participants;
        return ok(
          'the membership requests answer',
          (conn) => conn.answerJoinRequests(groupJid, participants, approve),
          (subject, results) => message('group_requests_done', subject, { groupJid, operation, results: results.map((r) => resultOf(r, 'remove')) }),
        );
      }
    }
  }

  private updateGroup(cmd: Extract<GroupCommand, { action: 'update_group' }>, defer: Defer): Promise<void> {
    const { changes } = cmd;
    const steps = changesOf(changes);
    const requested = fieldsOf(changes);
    const updated: GroupField[] = [];
    let failedField: GroupField | undefined;
    return this.answer(
      cmd,
      'the group update',
      async (conn) => {
        // Fetched and checked before anything changes: a picture that cannot be had leaves the group as it was.
        failedField = changes.picture ? 'picture' : undefined;
        const picture = changes.picture ? await pictureBytes(changes.picture, this.deps, this.host.id) : undefined;
        if (picture || changes.removePicture) {
          failedField = picture ? 'picture' : 'removePicture';
          await conn.updateGroup(cmd.group, { field: 'picture', value: picture }).catch((err: unknown) => {
            if (isWorkerError(err, 'INVALID_MEDIA')) throw new SendFailure('INVALID_MEDIA', err.message);
            throw err;
          });
          updated.push(failedField);
        }
        for (const step of steps) {
          failedField = step.field;
          await conn.updateGroup(cmd.group, step);
          updated.push(step.field);
        }
        failedField = undefined;
      },
      (subject) => this.events.message('group_update_done', subject, { groupJid: cmd.group, updated }),
      (subject, failure) =>
        this.events.message('group_update_failed', subject, {
          groupJid: cmd.group,
          requested,
          updated,
          ...(failedField ? { failed: failedField } : {}),
          ...failure,
        }),
      defer,
    );
  }

  private answer<T>(
    cmd: { requestId: string; action: string },
    what: string,
    act: (conn: WhatsAppConnection) => Promise<T>,
    done: (subject: MessageSubject, result: T) => Promise<unknown>,
    failed: (subject: MessageSubject, failure: CommandFailure) => Promise<unknown>,
    defer: Defer,
  ): Promise<void> {
    const precise = (conn: WhatsAppConnection) =>
      act(conn).catch((err: unknown) => {
        for (const code of PRECISE) if (isWorkerError(err, code)) throw new SendFailure(code, err.message);
        throw err;
      });
    return answerCommand({ host: this.host, sendWaitForOpenMs: this.deps.sendWaitForOpenMs, log: this.log }, cmd, what, precise, done, failed, defer);
  }
}

/** A group command's failure event (also what the session manager publishes for UNKNOWN_SESSION). */
export function answerGroupFailure(events: Events, cmd: GroupCommand, subject: MessageSubject, failure: CommandFailure): Promise<unknown> {
  const name = GROUP_FAILED_BY[cmd.action];
  switch (cmd.action) {
    case 'create_group':
      return events.message('group_create_failed', subject, { subject: cmd.subject, ...failure });
    case 'update_group':
      return events.message('group_update_failed', subject, {
        groupJid: cmd.group,
        requested: fieldsOf(cmd.changes),
        updated: [],
        ...failure,
      });
    case 'group_participants':
      return events.message('group_participants_failed', subject, { groupJid: cmd.group, operation: cmd.operation, ...failure });
    case 'join_group':
    case 'group_invite_info':
      return events.message(name as 'group_join_failed' | 'group_invite_info_failed', subject, { inviteCode: cmd.code, ...failure });
    case 'group_invite':
    case 'leave_group':
    case 'get_group':
      return events.message(name as 'group_invite_failed' | 'group_leave_failed' | 'group_fetch_failed', subject, { groupJid: cmd.group, ...failure });
    case 'list_groups':
      return events.message('groups_list_failed', subject, failure);
    case 'group_requests':
      return events.message('group_requests_failed', subject, { groupJid: cmd.group, operation: cmd.operation, ...failure });
  }
}
