import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** What scripts/patch-baileys.mjs writes into Baileys' message receiver. */
export const RECEIPT_GATE_CALL = 'config.holdIncomingReceipt(';

/** What it writes into Baileys' history processing (the notification ids of a history chunk). */
export const HISTORY_IDS_FIELD = 'historyNotificationIds: [message.key.id]';

/**
 * Whether the Baileys this process loads holds delivery receipts for the application
 * (scripts/patch-baileys.mjs, run by `npm install`). Without it an incoming message can be
 * lost on a crash, so the worker refuses to start (an install with `--ignore-scripts`, say).
 * The history patch goes with it: without it a history chunk's receipts would never be sent.
 */
export async function baileysHoldsReceipts(): Promise<boolean> {
  const recv = fileURLToPath(import.meta.resolve('@whiskeysockets/baileys/lib/Socket/messages-recv.js'));
  const history = fileURLToPath(import.meta.resolve('@whiskeysockets/baileys/lib/Utils/process-message.js'));
  return (await readFile(recv, 'utf8')).includes(RECEIPT_GATE_CALL) && (await readFile(history, 'utf8')).includes(HISTORY_IDS_FIELD);
}
