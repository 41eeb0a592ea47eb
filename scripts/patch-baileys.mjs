#!/usr/bin/env node
/* global process, console */
/**
 * Patches the installed Baileys (run by `npm install` / `npm ci` as the postinstall script).
 *
 * The one patch: the receipt gate. Baileys 7.0.0-rc14 sends WhatsApp the delivery receipt of an
 * incoming message before the application sees the message (`Socket/messages-recv.js`:
 * `sendReceipt`, then `upsertMessage`), and WhatsApp deletes what a device has receipted. A
 * worker killed in between loses the message for good. With the patch, a socket created with
 * `holdIncomingReceipt(key, release)` hands the receipt to the application instead, which sends
 * it (`release()`) once the message is safe: its `message_received` confirmed by the broker.
 * Without the option Baileys behaves exactly as before.
 *
 * The same holds for history: the receipts of a history-sync notification (a peer message from
 * the account's phone) are held like any other, and the phone does not send a receipted chunk
 * again. To release them only once the chunk's events are confirmed, the application must know
 * which notifications a `messaging-history.set` carries; Baileys merges the sets of one buffer
 * window and says nothing of their notifications. The history patches add
 * `historyNotificationIds` (the ids of the notifications whose chunks the set holds) to the
 * event, merged like the rest of it by the event buffer.
 *
 * The transaction scope (`Utils/auth-utils.js`): Baileys runs a send inside a key-store
 * transaction (an AsyncLocalStorage context whose writes are cached and committed at its end) and,
 * after the message went out, fires and forgets the privacy-token query (`issuePrivacyTokens`).
 * That query's continuation keeps the transaction's context, so its `keys.set` of the token's
 * timestamp lands in a cache that was committed already: lost. The next send finds no timestamp
 * and issues the token again — one extra query per message to a contact, where WhatsApp Web sends
 * one per contact and time bucket. The patch makes a committed transaction's context count as no
 * transaction: late reads and writes go to the store itself.
 *
 * Why a patch and not a wrapper: every Baileys layer captures `sendNode` from the layer below
 * when the socket is built, and the only later hook (`ws.send`) sees Noise-encrypted frames that
 * must go out in order. A wrapper would have to hold every frame behind a held receipt.
 *
 * The patch replaces exact text. If Baileys changed (an upgrade), the text is not found and this
 * script fails the install, loudly, instead of leaving a worker that silently loses messages
 * (`test/unit/baileys-receipt-gate.test.ts` checks the same on every test run). Idempotent.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MARKER = 'wa-worker receipt gate';

const RECV_BEFORE = `                        acked = true;
                        await sendReceipt(msg.key.remoteJid, participant, [msg.key.id], type);
                        // send ack for history message
                        const isAnyHistoryMsg = getHistoryMsg(msg.message);
                        if (isAnyHistoryMsg) {
                            const jid = jidNormalizedUser(msg.key.remoteJid);
                            await sendReceipt(jid, undefined, [msg.key.id], 'hist_sync'); // TODO: investigate
                        }
`;

const RECV_AFTER = `                        acked = true;
                        // ${MARKER} (scripts/patch-baileys.mjs): WhatsApp deletes what a device has
                        // receipted, so the application may send the receipt once the message is safe.
                        const sendDeliveryReceipts = async () => {
                            await sendReceipt(msg.key.remoteJid, participant, [msg.key.id], type);
                            // send ack for history message
                            const isAnyHistoryMsg = getHistoryMsg(msg.message);
                            if (isAnyHistoryMsg) {
                                const jid = jidNormalizedUser(msg.key.remoteJid);
                                await sendReceipt(jid, undefined, [msg.key.id], 'hist_sync'); // TODO: investigate
                            }
                        };
                        if (config.holdIncomingReceipt) {
                            config.holdIncomingReceipt({ ...msg.key }, sendDeliveryReceipts);
                        }
                        else {
                            await sendDeliveryReceipts();
                        }
`;

const TYPES_BEFORE = `export type SocketConfig = {
`;

const TYPES_AFTER = `export type SocketConfig = {
    /**
     * ${MARKER} (scripts/patch-baileys.mjs): when set, the delivery receipt of an incoming
     * message is not sent; it is handed over here, and sent when \`release\` is called.
     */
    holdIncomingReceipt?: (key: WAMessageKey, release: () => Promise<void>) => void;
`;

const HISTORY_EMIT_BEFORE = `                        chunkOrder: histNotification.chunkOrder,
                        peerDataRequestSessionId: histNotification.peerDataRequestSessionId
                    });
`;

const HISTORY_EMIT_AFTER = `                        chunkOrder: histNotification.chunkOrder,
                        peerDataRequestSessionId: histNotification.peerDataRequestSessionId,
                        // ${MARKER} (scripts/patch-baileys.mjs): which notification this chunk came from
                        historyNotificationIds: [message.key.id]
                    });
`;

const BUFFER_MERGE_BEFORE = `            data.historySets.isLatest = eventData.isLatest || data.historySets.isLatest;
`;

const BUFFER_MERGE_AFTER = `            data.historySets.isLatest = eventData.isLatest || data.historySets.isLatest;
            // ${MARKER} (scripts/patch-baileys.mjs): a merged set carries every notification it came from
            data.historySets.historyNotificationIds = [...(data.historySets.historyNotificationIds || []), ...(eventData.historyNotificationIds || [])];
`;

const BUFFER_EMIT_BEFORE = `            peerDataRequestSessionId: data.historySets.peerDataRequestSessionId
        };
`;

const BUFFER_EMIT_AFTER = `            peerDataRequestSessionId: data.historySets.peerDataRequestSessionId,
            // ${MARKER} (scripts/patch-baileys.mjs)
            historyNotificationIds: data.historySets.historyNotificationIds || []
        };
`;

const EVENTS_BEFORE = `        peerDataRequestSessionId?: string | null;
    };
`;

const EVENTS_AFTER = `        peerDataRequestSessionId?: string | null;
        /** ${MARKER} (scripts/patch-baileys.mjs): the ids of the history-sync notifications this set holds the chunks of */
        historyNotificationIds?: string[];
    };
`;

const TX_COMMIT_BEFORE = `                        await commitWithRetry(ctx.mutations);
`;

const TX_COMMIT_AFTER = `                        await commitWithRetry(ctx.mutations);
                        // ${MARKER}, transaction scope (scripts/patch-baileys.mjs): what the transaction
                        // started and still runs (the privacy-token query a send fires and forgets) keeps this
                        // context; from now on it reads and writes the store itself, not a cache nobody commits.
                        ctx.finished = true;
`;

const TX_STORE_BEFORE = `    const txStorage = new AsyncLocalStorage();
`;

const TX_STORE_AFTER = `    const txStorage = new AsyncLocalStorage();
    // ${MARKER}, transaction scope: a committed transaction's context is no transaction any more
    const liveTx = () => {
        const ctx = txStorage.getStore();
        return ctx && !ctx.finished ? ctx : undefined;
    };
`;

const txUse = (before) => ({ file: 'lib/Utils/auth-utils.js', before, after: before.replace('txStorage.getStore()', 'liveTx()') });

/** Exact replacements; a file may have several (each `before` unique in it). */
export const PATCHES = [
  { file: 'lib/Socket/messages-recv.js', before: RECV_BEFORE, after: RECV_AFTER },
  { file: 'lib/Types/Socket.d.ts', before: TYPES_BEFORE, after: TYPES_AFTER },
  { file: 'lib/Utils/process-message.js', before: HISTORY_EMIT_BEFORE, after: HISTORY_EMIT_AFTER },
  { file: 'lib/Utils/event-buffer.js', before: BUFFER_MERGE_BEFORE, after: BUFFER_MERGE_AFTER },
  { file: 'lib/Utils/event-buffer.js', before: BUFFER_EMIT_BEFORE, after: BUFFER_EMIT_AFTER },
  { file: 'lib/Types/Events.d.ts', before: EVENTS_BEFORE, after: EVENTS_AFTER },
  { file: 'lib/Utils/auth-utils.js', before: TX_STORE_BEFORE, after: TX_STORE_AFTER },
  { file: 'lib/Utils/auth-utils.js', before: TX_COMMIT_BEFORE, after: TX_COMMIT_AFTER },
  txUse(`        return !!txStorage.getStore();
`),
  txUse(`            const ctx = txStorage.getStore();
            if (!ctx) {
                // No transaction - direct read`),
  txUse(`            const ctx = txStorage.getStore();
            if (!ctx) {
                // No transaction - direct write`),
  txUse(`            const existing = txStorage.getStore();
`),
];

/** Where the Baileys this project resolves is installed (resolved from this script, inside the project). */
export function baileysDir() {
  const entry = fileURLToPath(import.meta.resolve('@whiskeysockets/baileys'));
  return dirname(dirname(entry)); // .../baileys/lib/index.js -> .../baileys
}

/**
 * Applies every patch not applied yet; throws when a file is neither patched nor as expected.
 * Returns the files it changed. A changed file is written beside the original and renamed over
 * it: a new inode, so a copy hard-linked elsewhere (another checkout sharing node_modules) is
 * left as it was.
 */
export function applyPatches(dir) {
  const applied = [];
  for (const file of new Set(PATCHES.map((p) => p.file))) {
    const path = join(dir, file);
    const original = readFileSync(path, 'utf8');
    let text = original;
    for (const { before, after } of PATCHES.filter((p) => p.file === file)) {
      if (text.includes(after)) continue;
      const at = text.indexOf(before);
      if (at < 0 || text.indexOf(before, at + 1) >= 0) {
        throw new Error(
          `${path} is not the Baileys 7.0.0-rc14 this patch was written for (the text to replace is missing or not unique). ` +
            'Without the patch incoming messages and history can be lost on a crash: re-check the file and update scripts/patch-baileys.mjs.',
        );
      }
      text = text.slice(0, at) + after + text.slice(at + before.length);
    }
    if (text === original) continue;
    writeFileSync(`${path}.wa-worker-patch`, text);
    renameSync(`${path}.wa-worker-patch`, path);
    applied.push(file);
  }
  return applied;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const dir = baileysDir();
    const applied = applyPatches(dir);
    console.log(
      applied.length
        ? `patch-baileys: applied the receipt gate, history and transaction-scope patches to ${applied.join(', ')}`
        : 'patch-baileys: already applied',
    );
  } catch (err) {
    console.error(`patch-baileys: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
