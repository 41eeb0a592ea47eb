import { proto, type UserFacingSocketConfig } from '@whiskeysockets/baileys';
import type { HistorySyncMode } from '../util/session-settings.js';

const { HistorySyncType } = proto.HistorySync;
/** History chunks without chats or messages: push names and LID mappings, which Baileys needs even when no history is wanted. */
const WITHOUT_MESSAGES = new Set<number>([HistorySyncType.PUSH_NAME, HistorySyncType.NON_BLOCKING_DATA]);

/**
 * The socket configuration for a number's `historySync` setting. `syncFullHistory` is what the
 * device asks for when it links (`requireFullSync`); `shouldSyncHistoryMessage` decides which
 * history notifications Baileys downloads and processes:
 * - `none`: only push names and LID mappings; Baileys also skips its wait for the first history;
 * - `recent`: Baileys' default, everything but the FULL chunks (the worker's behaviour so far);
 * - `full`: asks the phone for the whole history and processes every chunk.
 * What Baileys processes becomes events (baileys-history.ts, messaging/history-sync.ts).
 */
export function historySyncConfig(mode: HistorySyncMode): Required<Pick<UserFacingSocketConfig, 'syncFullHistory' | 'shouldSyncHistoryMessage'>> {
  switch (mode) {
    case 'none':
      return {
        syncFullHistory: false,
        shouldSyncHistoryMessage: ({ syncType }) => syncType !== null && syncType !== undefined && WITHOUT_MESSAGES.has(syncType),
      };
    case 'recent':
      return { syncFullHistory: false, shouldSyncHistoryMessage: ({ syncType }) => syncType !== HistorySyncType.FULL };
    case 'full':
      return { syncFullHistory: true, shouldSyncHistoryMessage: () => true };
  }
}
