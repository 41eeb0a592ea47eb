import { z } from 'zod';
import { messageEvent } from './event-envelope.js';

/**
 * Changes to groups the account is in (issue 13), from WhatsApp's `w:gp2` notifications: the eventId
 * derives from the notification's id (a redelivered notification is the same event).
 */
export function groupNotificationEvents() {
  const group = z.string().describe('The group JID (`…@g.us`).');
  const member = z
    .object({
      pn: z.string().optional().describe("The member's phone-number JID, when WhatsApp told it."),
      lid: z.string().optional().describe("The member's LID, when WhatsApp told it."),
      admin: z.enum(['admin', 'superadmin']).nullable().optional().describe('Its role, when told (null: a plain member).'),
    })
    .describe('A group member.');
  const by = member.optional().describe('Who did it (the actor of the notification), when WhatsApp said.');
  const notificationId = z.string().describe("WhatsApp's id of the notification (the eventId derives from it).");
  return {
    group_joined: messageEvent(
      'group_joined',
      'Emitted when the account is in a new group: someone (or the account, from another device or create_group) created it with the account in it, or added the account to it.',
      {
        group,
        notificationId,
        how: z.enum(['created', 'added']).describe('created: a new group; added: an existing group the account was added to.'),
        subject: z.string().optional().describe("The group's subject, when known."),
        participantCount: z.number().int().nonnegative().optional().describe('How many members it has, when known (always for created).'),
        participants: z.array(member).optional().describe('Its members (created: as WhatsApp sent them, at most 1024).'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
    group_updated: messageEvent(
      'group_updated',
      "Emitted when a group's subject, description, settings (announce, locked, member add mode, join approval), disappearing-messages timer or invite link changed; only what changed is set.",
      {
        group,
        notificationId,
        changes: z
          .object({
            subject: z.string().optional(),
            description: z.string().nullable().optional().describe('null: cleared.'),
            announce: z.boolean().optional().describe('Only admins may send.'),
            locked: z.boolean().optional().describe("Only admins may edit the group's info."),
            ephemeralSeconds: z.number().int().nonnegative().optional().describe('Disappearing messages timer, seconds (0: off).'),
            inviteCode: z.string().optional().describe('The new invite code (the link was reset).'),
            memberAddMode: z.enum(['all_member_add', 'admin_add']).optional().describe('Who may add members.'),
            joinApproval: z.boolean().optional().describe("New members need an admin's approval."),
          })
          .describe('What changed.'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
    group_participants_changed: messageEvent(
      'group_participants_changed',
      'Emitted when members were added to, removed from, promoted or demoted in a group the account is in, or left it (the account itself included: removed or left means the account is out).',
      {
        group,
        notificationId,
        change: z.enum(['added', 'removed', 'left', 'promoted', 'demoted']),
        participants: z.array(member).describe('The members concerned (at most 1024).'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
    group_membership_request: messageEvent(
      'group_membership_request',
      'Emitted when someone asks to join a group the account administers (created), withdraws the request (revoked) or an admin rejected it (rejected).',
      {
        group,
        notificationId,
        request: z.enum(['created', 'revoked', 'rejected']),
        participant: member.describe('Who asks to join.'),
        method: z.string().optional().describe('How, as WhatsApp says (e.g. invite_link, linked_group_join, non_admin_add).'),
        by,
        at: z.number().int().describe('When WhatsApp says it happened, epoch ms.'),
      },
    ),
  };
}
