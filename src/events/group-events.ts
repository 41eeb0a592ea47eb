import { z } from 'zod';

/** Why WhatsApp did not take one participant of a create_group or group_participants (from its per-participant status). */
export const PARTICIPANT_REASONS = ['privacy', 'not_on_whatsapp', 'not_a_member', 'already_member', 'not_admin', 'other'] as const;
export type ParticipantReason = (typeof PARTICIPANT_REASONS)[number];
export const GROUP_UPDATE_FIELDS = ['picture', 'removePicture', 'subject', 'description', 'announce', 'locked', 'ephemeral'] as const;

/**
 * The answers of the group commands (issue 13), one success and one failure event each, spread
 * into the catalogue's message events. `envelope` is the catalogue's (passed in: no import cycle).
 */
export function groupEvents<E extends z.ZodRawShape & { sessionId: z.ZodType }>(envelope: E) {
  const event = <A extends string, S extends z.ZodRawShape>(action: A, description: string, shape: S) =>
    z.object({ action: z.literal(action), ...envelope, ...shape }).describe(description);
  const requestId = z.string().describe("The command's requestId.");
  const groupJid = z.string().describe("The group's JID (`…@g.us`).");
  const failure = {
    sessionId: envelope.sessionId.optional(),
    requestId,
    code: z
      .string()
      .describe(
        'A stable code: UNKNOWN_SESSION, NOT_CONNECTED, INVALID_MEDIA, MEDIA_NOT_FOUND, MEDIA_UNAVAILABLE, MEDIA_TOO_LARGE (update_group picture), NOT_ADMIN (only admins may: WhatsApp answered 401), NOT_A_MEMBER (403), UNKNOWN_GROUP (no such group or invite: 404), WHATSAPP_ERROR (WhatsApp refused otherwise or did not answer).',
      ),
    reason: z.string().describe('What went wrong, for a person.'),
  };
  const member = z.object({
    jid: z.string().describe('The member as WhatsApp addresses it: a LID (`…@lid`) or a phone JID.'),
    phone: z.string().optional().describe("The member's phone JID (`<digits>@s.whatsapp.net`), when WhatsApp told it."),
    role: z.enum(['member', 'admin', 'superadmin']).describe('superadmin: the creator.'),
  });
  const metadata = z
    .object({
      jid: groupJid,
      subject: z.string(),
      description: z.string().optional(),
      owner: z.string().optional().describe("The creator's JID."),
      createdAt: z.number().int().optional().describe('epoch ms'),
      size: z.number().int(),
      announce: z.boolean().describe('Only admins send messages.'),
      locked: z.boolean().describe("Only admins edit the group's info."),
      joinApproval: z.boolean().describe('Admins approve who joins.'),
      ephemeral: z.number().int().optional().describe('Disappearing messages, seconds (absent: off).'),
      participants: z.array(member).describe('At most 1024.'),
      truncated: z.boolean().optional().describe('WhatsApp listed more members than the worker keeps (1024).'),
    })
    .describe('A group as WhatsApp describes it.');
  const participantResult = z.object({
    jid: z.string().describe('The participant as the command named it (its JID).'),
    status: z
      .number()
      .int()
      .describe("WhatsApp's status for this participant: 200 done; 403 privacy; 404 not on WhatsApp / not a member; 409 already a member."),
    ok: z.boolean(),
    reason: z.enum(PARTICIPANT_REASONS).optional().describe('Why not (absent when ok).'),
    inviteCode: z.string().optional().describe('403 on add: the code of the invite WhatsApp lets an admin send the contact instead.'),
  });
  const fields = z.array(z.enum(GROUP_UPDATE_FIELDS));
  return {
    group_created: event(
      'group_created',
      'Emitted when a `create_group` was taken by WhatsApp: the group exists with this account as its creator (superadmin); `failed` lists the participants WhatsApp did not add and why. A redelivered create_group (same requestId) is answered with the same group, not a second one, while the session remembers it (its last 64 creates).',
      {
        requestId,
        groupJid,
        subject: z.string(),
        participants: z.array(member).describe('The members added (the account included, as WhatsApp lists them).'),
        failed: z.array(participantResult).describe('The participants not added.'),
      },
    ),
    group_create_failed: event('group_create_failed', 'Emitted when a `create_group` could not be carried out (no group was created).', {
      ...failure,
      subject: z.string(),
    }),
    group_update_done: event(
      'group_update_done',
      'Emitted when an `update_group` was carried out: every field asked for was taken by WhatsApp (applied in the order picture or removePicture, subject, description, announce, locked, ephemeral, one request each; the picture is fetched and checked before anything changes).',
      { requestId, groupJid, updated: fields.describe('The fields changed, in the order applied.') },
    ),
    group_update_failed: event(
      'group_update_failed',
      'Emitted when an `update_group` could not be carried out in full: `updated` lists what was changed before the failure, `failed` the field that failed.',
      {
        ...failure,
        groupJid,
        requested: fields.describe('The fields asked for.'),
        updated: fields.describe('The fields changed before the failure.'),
        failed: z.enum(GROUP_UPDATE_FIELDS).optional().describe('The field that failed (absent when nothing was tried).'),
      },
    ),
    group_participants_done: event(
      'group_participants_done',
      "Emitted when a `group_participants` was answered by WhatsApp: one result per participant (WhatsApp may take some and refuse others: each says so; a participant WhatsApp's answer does not name is absent).",
      { requestId, groupJid, operation: z.enum(['add', 'remove', 'promote', 'demote']), results: z.array(participantResult) },
    ),
    group_participants_failed: event('group_participants_failed', 'Emitted when a `group_participants` was refused as a whole (nobody changed).', {
      ...failure,
      groupJid,
      operation: z.enum(['add', 'remove', 'promote', 'demote']),
    }),
    group_invite_fetched: event('group_invite_fetched', "Emitted when a `group_invite` was answered: the group's current (or, `revoked`, new) invite code.", {
      requestId,
      groupJid,
      inviteCode: z.string(),
      inviteLink: z.string().describe('`https://chat.whatsapp.com/<inviteCode>`'),
      revoked: z.boolean().describe('The previous code was revoked (its link no longer works).'),
    }),
    group_invite_failed: event('group_invite_failed', 'Emitted when a `group_invite` could not be answered (only admins get the code: NOT_ADMIN).', {
      ...failure,
      groupJid,
    }),
    group_join_done: event(
      'group_join_done',
      'Emitted when a `join_group` was taken by WhatsApp: the account is now a member (or, when the group approves joins, asked to be).',
      {
        requestId,
        inviteCode: z.string(),
        groupJid,
      },
    ),
    group_join_failed: event('group_join_failed', 'Emitted when a `join_group` was refused (UNKNOWN_GROUP: the code is unknown or revoked).', {
      ...failure,
      inviteCode: z.string(),
    }),
    group_invite_info_fetched: event(
      'group_invite_info_fetched',
      'Emitted when a `group_invite_info` was answered: the group the code invites to (without joining it).',
      {
        requestId,
        inviteCode: z.string(),
        metadata,
      },
    ),
    group_invite_info_failed: event(
      'group_invite_info_failed',
      'Emitted when a `group_invite_info` could not be answered (UNKNOWN_GROUP: unknown or revoked code).',
      {
        ...failure,
        inviteCode: z.string(),
      },
    ),
    group_left: event('group_left', 'Emitted when a `leave_group` was taken by WhatsApp: the account is no longer a member.', { requestId, groupJid }),
    group_leave_failed: event('group_leave_failed', 'Emitted when a `leave_group` could not be carried out.', { ...failure, groupJid }),
    groups_listed: event('groups_listed', 'Emitted when a `list_groups` was answered: every group the account is in (at most 500), with members and roles.', {
      requestId,
      groups: z.array(metadata),
    }),
    groups_list_failed: event('groups_list_failed', 'Emitted when a `list_groups` could not be answered.', failure),
    group_fetched: event('group_fetched', "Emitted when a `get_group` was answered: the group's metadata, members and roles.", { requestId, metadata }),
    group_requests_done: event(
      'group_requests_done',
      'Emitted when a `group_requests` was answered: `list` gives the pending `requests`; `approve` / `reject` one result per participant (404: no such request).',
      {
        requestId,
        groupJid,
        operation: z.enum(['list', 'approve', 'reject']),
        requests: z
          .array(
            z.object({
              jid: z.string().describe('Who asks to join (a LID or phone JID).'),
              phone: z.string().optional().describe('Their phone JID, when WhatsApp told it.'),
              requestedAt: z.number().int().optional().describe('epoch ms'),
            }),
          )
          .optional()
          .describe('list: the pending requests (at most 1024).'),
        results: z.array(participantResult).optional().describe('approve, reject: one per participant.'),
      },
    ),
    group_requests_failed: event(
      'group_requests_failed',
      'Emitted when a `group_requests` was refused as a whole (NOT_ADMIN: only admins see and answer requests).',
      {
        ...failure,
        groupJid,
        operation: z.enum(['list', 'approve', 'reject']),
      },
    ),
    group_fetch_failed: event('group_fetch_failed', 'Emitted when a `get_group` could not be answered (NOT_A_MEMBER, UNKNOWN_GROUP...).', {
      ...failure,
      groupJid,
    }),
  };
}
