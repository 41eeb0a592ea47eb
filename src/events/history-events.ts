import { z } from 'zod';
import { messageEvent } from './event-envelope.js';

/** Baileys' `HistorySync.HistorySyncType`, named. */
export const HISTORY_SYNC_TYPES = [
  'initial_bootstrap',
  'initial_status_v3',
  'full',
  'recent',
  'push_name',
  'non_blocking_data',
  'on_demand',
  'unknown',
] as const;
export type HistorySyncType = (typeof HISTORY_SYNC_TYPES)[number];

const historyChunk = {
  syncType: z.enum(HISTORY_SYNC_TYPES).describe("Which part of the history the phone sent (WhatsApp's sync type)."),
  chunkOrder: z.number().int().optional().describe("The chunk's place in that part, when the phone said."),
};

/** The history the phone sends after linking (issue 12): chats, contacts, progress. */
export function historyEvents() {
  return {
    history_chats: messageEvent(
      'history_chats',
      'Emitted when the history the phone sends after linking lists chats: one event per HISTORY_EVENT_BATCH chats of a chunk, before its messages.',
      {
        ...historyChunk,
        chats: z
          .array(
            z.object({
              jid: z.string().describe('The chat JID (a contact by phone number or LID, or a group).'),
              name: z.string().optional().describe('Its name, when the phone has one.'),
              unreadCount: z.number().int().optional(),
              lastMessageAt: z.number().int().optional().describe('Its last message, epoch ms.'),
              archived: z.boolean().optional(),
              pinned: z.boolean().optional(),
              readOnly: z.boolean().optional(),
            }),
          )
          .describe('At most HISTORY_EVENT_BATCH chats.'),
      },
    ),
    history_contacts: messageEvent(
      'history_contacts',
      'Emitted when the history the phone sends after linking names contacts (address book, push names): one event per HISTORY_EVENT_BATCH contacts of a chunk.',
      {
        ...historyChunk,
        contacts: z
          .array(
            z.object({
              jid: z.string().describe('The contact (phone-number JID or LID) or group.'),
              lid: z.string().optional().describe('Its LID, when WhatsApp told it.'),
              phoneJid: z.string().optional().describe('Its phone-number JID, when WhatsApp told it.'),
              name: z.string().optional().describe('The name in the address book of the phone (or a group subject).'),
              notify: z.string().optional().describe('The name the contact gave itself (push name).'),
              verifiedName: z.string().optional().describe("A business's verified name."),
            }),
          )
          .describe('At most HISTORY_EVENT_BATCH contacts.'),
      },
    ),
    history_sync_progress: messageEvent(
      'history_sync_progress',
      'Emitted when a chunk of the history the phone sends after linking was published: its chats, contacts and messages events are all confirmed by the broker (they come before it, on the same queue).',
      {
        ...historyChunk,
        progress: z.number().optional().describe('Percent of the whole sync done with this chunk, when the phone said.'),
        isLatest: z
          .boolean()
          .describe(
            "The first chunk this linked device processed (Baileys' `isLatest`: false for a chunk the phone sent again after a crash, since Baileys recorded it before the crash).",
          ),
        messages: z.number().int().nonnegative().describe('message_received events published for this chunk (messages already published are not counted).'),
        chats: z.number().int().nonnegative().describe('Chats in the history_chats events of this chunk.'),
        contacts: z.number().int().nonnegative().describe('Contacts in the history_contacts events of this chunk.'),
      },
    ),
  };
}
