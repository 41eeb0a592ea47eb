import type { SignalDataSet, SignalDataTypeMap } from '@whiskeysockets/baileys';
import type { KeyEntry } from './auth-record.js';

/** Signal keys by type, then by id. In pending changes, `null` is a deletion. */
export type KeyMap = Map<string, Map<string, unknown>>;

/**
 * A session's Signal keys, every one of them in memory, and the changes not yet written.
 *
 * Everything is loaded once, at open; `get` is then served from memory. This is why no
 * `makeCacheableSignalKeyStore` is needed on top (it would cache what is already in memory).
 * The memory cost is the session's key material, typically tens to hundreds of KB.
 */
export class AuthKeyStore {
  private pending: KeyMap = new Map();

  constructor(private readonly memory: KeyMap) {}

  get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
    const out: { [id: string]: SignalDataTypeMap[T] } = {};
    const byId = this.memory.get(type);
    if (!byId) return out;
    for (const id of ids) {
      const value = byId.get(id);
      if (value !== undefined && id !== '__proto__') out[id] = value as SignalDataTypeMap[T];
    }
    return out;
  }

  /** Applies Baileys' changes in memory; `record`: also keeps them for the next write (not once the state is closed). */
  set(data: SignalDataSet, record: boolean): void {
    for (const [type, entries] of Object.entries(data)) {
      if (!entries) continue;
      let byId = this.memory.get(type);
      if (!byId) this.memory.set(type, (byId = new Map()));
      let pending = this.pending.get(type);
      for (const [id, value] of Object.entries(entries)) {
        if (value === null || value === undefined) byId.delete(id);
        else byId.set(id, value);
        if (!record) continue;
        if (!pending) this.pending.set(type, (pending = new Map()));
        pending.set(id, value ?? null);
      }
    }
  }

  /** Forgets every key and every pending change (`keys.clear()`: only a snapshot can record that). */
  clear(): void {
    this.memory.clear();
    this.pending.clear();
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Hands the pending changes to a write: what arrives during it goes to the next one. */
  takePending(): KeyMap {
    const taken = this.pending;
    this.pending = new Map();
    return taken;
  }

  /** Puts the changes of a failed write back, under anything newer that arrived during it. */
  restorePending(taken: KeyMap): void {
    for (const [type, older] of taken) {
      const newer = this.pending.get(type);
      if (newer) for (const [id, value] of newer) older.set(id, value);
      this.pending.set(type, older);
    }
  }

  /** Drops the pending changes: the credentials are being removed. */
  dropPending(): void {
    this.pending.clear();
  }

  /** Every key in memory, as a snapshot records them. */
  all(): KeyEntry[] {
    return keyEntries(this.memory);
  }
}

/** The entries of a key map as a record lists them: `[type, id, value]`. */
export function keyEntries(source: KeyMap): KeyEntry[] {
  const entries: KeyEntry[] = [];
  for (const [type, byId] of source) for (const [id, value] of byId) entries.push([type, id, value]);
  return entries;
}
