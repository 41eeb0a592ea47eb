import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** What scripts/patch-baileys.mjs writes into Baileys' message receiver. */
export const RECEIPT_GATE_CALL = 'config.holdIncomingReceipt(';

/**
 * Whether the Baileys this process loads holds delivery receipts for the application
 * (scripts/patch-baileys.mjs, run by `npm install`). Without it an incoming message can be
 * lost on a crash, so the worker refuses to start (an install with `--ignore-scripts`, say).
 */
export async function baileysHoldsReceipts(): Promise<boolean> {
  const file = fileURLToPath(import.meta.resolve('@whiskeysockets/baileys/lib/Socket/messages-recv.js'));
  return (await readFile(file, 'utf8')).includes(RECEIPT_GATE_CALL);
}
