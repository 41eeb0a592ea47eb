import { z } from 'zod';
import { envelope, messageEvent } from './event-envelope.js';

/**
 * Contacts' presence and profiles, the account's own profile, blocking (issue 12): the answers
 * of subscribe_presence, get_profile, update_profile, block and unblock, and the presence
 * updates of subscribed contacts.
 */
export function profileEvents() {
  const requestId = z.string().describe("The command's requestId.");
  const chat = z.string().describe('The contact as the command named it: canonical phone (`+` and its E.164 digits) or JID.');
  const jid = z.string().describe("The contact's JID (`<digits>@s.whatsapp.net` for a phone, or the `…@lid` given).");
  const failure = {
    sessionId: envelope.sessionId.optional(),
    requestId,
    code: z.string().describe('A stable code: UNKNOWN_SESSION, NOT_CONNECTED, WHATSAPP_ERROR (WhatsApp refused or did not answer).'),
    reason: z.string().describe('What went wrong, for a person.'),
  };
  const PROFILE_FIELDS = ['name', 'about', 'picture', 'removePicture'] as const;
  return {
    presence_subscribed: messageEvent(
      'presence_subscribed',
      "Emitted when a `subscribe_presence` was sent to WhatsApp: from now on (until the socket reconnects) the contact's presence and chat states arrive as presence_update. WhatsApp does not confirm a subscription; a contact that hides its presence sends none.",
      { requestId, chat, jid },
    ),
    presence_subscribe_failed: messageEvent('presence_subscribe_failed', 'Emitted when a `subscribe_presence` could not be sent (send again to retry).', {
      ...failure,
      chat,
      jid: jid.optional(),
    }),
    presence_update: messageEvent(
      'presence_update',
      "Emitted when a subscribed contact's presence (available, unavailable, with its last seen) or chat state in a chat with the account (composing, recording; WhatsApp's paused arrives as available) changes. Ephemeral (WhatsApp keeps nothing: a session offline misses them). Coalesced: only a change of state per chat and contact is published, at most 10 per session per second (PRESENCE_UPDATES_PER_SECOND in presence-relay.ts); beyond that each chat's latest state waits for the next second (older intermediate states are dropped).",
      {
        chat: z.string().describe('The chat JID as WhatsApp sent it: the contact (`…@s.whatsapp.net` or `…@lid`), or a group for a member typing there.'),
        from: z
          .object({
            pn: z.string().optional().describe("The contact's phone-number JID, when WhatsApp addressed it so."),
            lid: z.string().optional().describe("The contact's LID, when WhatsApp addressed it so."),
          })
          .describe('Whose presence it is.'),
        presence: z.enum(['available', 'unavailable', 'composing', 'recording', 'paused']),
        lastSeen: z.number().int().optional().describe('unavailable: when the contact was last online, epoch ms, unless it hides it.'),
      },
    ),
    profile_fetched: messageEvent(
      'profile_fetched',
      'Emitted when a `get_profile` was answered by WhatsApp. A picture or about the contact has not set, or hides from this account, is simply absent (not a failure); `business` only for a business account.',
      {
        requestId,
        chat,
        jid,
        pictureUrl: z.string().optional().describe("The full-size profile picture's URL on WhatsApp's media host (short-lived)."),
        about: z.string().optional().describe('The about text.'),
        aboutSetAt: z.number().int().optional().describe('When the about was set, epoch ms.'),
        business: z
          .object({
            description: z.string(),
            category: z.string().optional(),
            email: z.string().optional(),
            website: z.array(z.string()),
            address: z.string().optional(),
          })
          .optional()
          .describe("A business account's profile."),
      },
    ),
    profile_fetch_failed: messageEvent('profile_fetch_failed', 'Emitted when a `get_profile` could not be answered (send again to retry).', {
      ...failure,
      chat,
      jid: jid.optional(),
    }),
    profile_updated: messageEvent(
      'profile_updated',
      "Emitted when an `update_profile` was carried out: every field asked for was taken by WhatsApp (applied in the order picture or removePicture, about, name; the name goes through WhatsApp's app state).",
      { requestId, updated: z.array(z.enum(PROFILE_FIELDS)).describe('The fields changed, in the order applied.') },
    ),
    profile_update_failed: messageEvent(
      'profile_update_failed',
      'Emitted when an `update_profile` could not be carried out in full: `updated` lists what was changed before the failure (picture or removePicture, about, name are applied in that order: a picture that cannot be fetched or decoded changes nothing), `failed` the field that failed. Also INVALID_MEDIA (the picture is not a JPEG/PNG, or could not be decoded), MEDIA_NOT_FOUND, MEDIA_UNAVAILABLE, MEDIA_TOO_LARGE for a picture fetched from `url` or `mediaKey`.',
      {
        ...failure,
        requested: z.array(z.enum(PROFILE_FIELDS)).describe('The fields asked for.'),
        updated: z.array(z.enum(PROFILE_FIELDS)).describe('The fields changed before the failure.'),
        failed: z.enum(PROFILE_FIELDS).optional().describe('The field that failed (absent when nothing was tried, e.g. UNKNOWN_SESSION).'),
      },
    ),
    block_status_changed: messageEvent(
      'block_status_changed',
      'Emitted when a `block` or `unblock` was taken by WhatsApp: the contact is now blocked (or no longer is). A repeat answers again.',
      { requestId, chat, jid, blocked: z.boolean().describe('true after block, false after unblock.') },
    ),
    block_status_failed: messageEvent(
      'block_status_failed',
      "Emitted when a `block` or `unblock` could not be carried out (WHATSAPP_ERROR also when WhatsApp has not told this account the contact's LID, which blocking needs).",
      { ...failure, chat, jid: jid.optional(), blocked: z.boolean().describe('What was asked: true for block, false for unblock.') },
    ),
  };
}
