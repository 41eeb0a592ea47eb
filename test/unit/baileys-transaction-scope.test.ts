import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { addTransactionCapability, type SignalDataSet, type SignalKeyStore } from '@whiskeysockets/baileys';

/**
 * The transaction-scope patch (scripts/patch-baileys.mjs): after a send, Baileys fires and forgets
 * the privacy-token query, whose continuation keeps the send's transaction context. Unpatched,
 * the token's timestamp it writes lands in that committed transaction's cache and is lost, so
 * every message to a contact issues the token again (one extra query per message).
 */
function memoryStore(): { store: SignalKeyStore; data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  const store: SignalKeyStore = {
    get: async (type, ids) => Object.fromEntries(ids.filter((id) => data.has(`${type}:${id}`)).map((id) => [id, data.get(`${type}:${id}`)])) as never,
    set: async (set: SignalDataSet) => {
      for (const [type, entries] of Object.entries(set)) for (const [id, value] of Object.entries(entries ?? {})) data.set(`${type}:${id}`, value);
    },
  };
  return { store, data };
}

describe('the Baileys transaction-scope patch', () => {
  it('is installed', () => {
    const text = readFileSync(join(process.cwd(), 'node_modules/@whiskeysockets/baileys/lib/Utils/auth-utils.js'), 'utf8');
    expect(text).toContain('ctx.finished = true;');
    expect(text.match(/liveTx\(\)/g)?.length).toBe(4);
  });

  it('a write started inside a transaction that lands after its commit reaches the store', async () => {
    const { store, data } = memoryStore();
    const keys = addTransactionCapability(store, pino({ level: 'silent' }), { maxCommitRetries: 1, delayBetweenTriesMs: 1 });
    let released!: () => void;
    const reply = new Promise<void>((resolve) => (released = resolve));
    let late!: Promise<void>;
    await keys.transaction(async () => {
      await keys.set({ session: { a: Buffer.from('in the transaction') } });
      // fire and forget, as Baileys issues the privacy token after a send
      late = reply.then(async () => {
        const seen = await keys.get('tctoken', ['contact']);
        await keys.set({ tctoken: { contact: { token: Buffer.alloc(0), timestamp: String(seen.contact ? 2 : 1) } } });
      });
    }, 'send');
    expect(data.get('session:a')).toEqual(Buffer.from('in the transaction'));
    released();
    await late;
    expect(data.get('tctoken:contact')).toEqual({ token: Buffer.alloc(0), timestamp: '1' });
    expect(keys.isInTransaction()).toBe(false);
  });

  it('writes inside a running transaction are still committed at its end, not before', async () => {
    const { store, data } = memoryStore();
    const keys = addTransactionCapability(store, pino({ level: 'silent' }), { maxCommitRetries: 1, delayBetweenTriesMs: 1 });
    await keys.transaction(async () => {
      await keys.set({ session: { a: Buffer.from('x') } });
      expect(keys.isInTransaction()).toBe(true);
      expect(data.has('session:a')).toBe(false);
    }, 'send');
    expect(data.has('session:a')).toBe(true);
  });
});
