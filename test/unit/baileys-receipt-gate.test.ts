import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The install-time patch itself (plain ESM: npm runs it before anything is built).
import { applyPatches, PATCHES } from '../../scripts/patch-baileys.mjs';
import { HISTORY_IDS_FIELD, RECEIPT_GATE_CALL } from '../../src/whatsapp/receipt-gate-check.js';

/**
 * The receipt gate lives in a patch of Baileys (scripts/patch-baileys.mjs). These checks fail
 * loudly when an install skipped the patch or a Baileys upgrade moved the code it relies on:
 * the receipt must be handed to the application, and the message emitted after that.
 */
const installed = readFileSync(join(process.cwd(), 'node_modules/@whiskeysockets/baileys/lib/Socket/messages-recv.js'), 'utf8');

describe('the Baileys receipt gate patch', () => {
  it('is installed: the receipt of a decrypted message goes to holdIncomingReceipt, before the message is emitted', () => {
    const handleMessage = installed.slice(installed.indexOf('const handleMessage = async'), installed.indexOf('const handleCall = async'));
    expect(handleMessage.split(RECEIPT_GATE_CALL)).toHaveLength(2);
    const gate = handleMessage.indexOf(RECEIPT_GATE_CALL);
    expect(gate).toBeLessThan(handleMessage.indexOf("await upsertMessage(msg, node.attrs.offline ? 'append' : 'notify')"));
    // The only delivery receipt of the message is the one the application releases.
    const receipts = [...handleMessage.matchAll(/sendReceipt\(msg\.key\.remoteJid/g)].map((m) => m.index);
    expect(receipts).toHaveLength(1);
    const deferred = handleMessage.indexOf('const sendDeliveryReceipts = async');
    expect(receipts[0]!).toBeGreaterThan(deferred);
    expect(receipts[0]!).toBeLessThan(gate);
  });

  it('is installed: a history chunk names the notifications it came from, through the event buffer too', () => {
    const base = join(process.cwd(), 'node_modules/@whiskeysockets/baileys/lib/Utils');
    const processMessage = readFileSync(join(base, 'process-message.js'), 'utf8');
    expect(processMessage.split(HISTORY_IDS_FIELD)).toHaveLength(2);
    const buffer = readFileSync(join(base, 'event-buffer.js'), 'utf8');
    // merged when buffered, and emitted with the consolidated set
    expect(buffer.match(/historyNotificationIds/g)?.length).toBeGreaterThanOrEqual(3);
  });

  it('applies to the original text once, is idempotent, and refuses a Baileys it was not written for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baileys-patch-'));
    try {
      const files = [...new Set(PATCHES.map((p) => p.file))];
      for (const file of files) {
        mkdirSync(join(dir, file, '..'), { recursive: true });
        const befores = PATCHES.filter((p) => p.file === file).map((p) => `${p.before}// between\n`);
        writeFileSync(join(dir, file), `// head\n${befores.join('')}// tail\n`);
      }
      // A file hard-linked elsewhere (node_modules shared by checkouts) keeps its old content there.
      const other = join(dir, 'other-checkout-copy.js');
      linkSync(join(dir, PATCHES[0]!.file), other);
      const untouched = readFileSync(other, 'utf8');
      expect(applyPatches(dir)).toEqual(files);
      expect(readFileSync(other, 'utf8')).toBe(untouched);
      const once = files.map((file) => readFileSync(join(dir, file), 'utf8'));
      expect(once[0]).toContain(RECEIPT_GATE_CALL);
      for (const { file, after } of PATCHES) expect(readFileSync(join(dir, file), 'utf8')).toContain(after);
      expect(applyPatches(dir)).toEqual([]);
      expect(files.map((file) => readFileSync(join(dir, file), 'utf8'))).toEqual(once);

      writeFileSync(join(dir, PATCHES[0]!.file), '// a Baileys that sends its receipts elsewhere\n');
      expect(() => applyPatches(dir)).toThrow(/not the Baileys 7\.0\.0-rc14 this patch was written for/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
