import { initAuthCreds, type AuthenticationState, type SignalDataTypeMap } from '@whiskeysockets/baileys';
import type { AuthStateHandle, SessionMeta, SessionStore } from '../../src/storage/types.js';

/** Everything in memory; counts what it was asked to do so tests can check it. */
export class MemorySessionStore implements SessionStore {
  readonly creds = new Map<string, ReturnType<typeof initAuthCreds>>();
  readonly keys = new Map<string, Map<string, unknown>>();
  readonly metas = new Map<string, SessionMeta>();
  readonly calls: string[] = [];
  /** While set, `flush()` waits for it (to observe what waits for a flush). */
  flushGate: Promise<void> | undefined;

  async openAuthState(sessionId: string): Promise<AuthStateHandle> {
    this.calls.push(`open:${sessionId}`);
    const creds = this.creds.get(sessionId) ?? initAuthCreds();
    const keys = this.keys.get(sessionId) ?? new Map<string, unknown>();
    const state: AuthenticationState = {
      creds,
      keys: {
        get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
          const out: { [id: string]: SignalDataTypeMap[T] } = {};
          for (const id of ids) {
            const v = keys.get(`${type}:${id}`);
            if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
          }
          return out;
        },
        set: async (data) => {
          for (const [type, entries] of Object.entries(data)) {
            for (const [id, v] of Object.entries(entries ?? {})) {
              if (v === null) keys.delete(`${type}:${id}`);
              else keys.set(`${type}:${id}`, v);
            }
          }
        },
      },
    };
    const persist = () => {
      this.creds.set(sessionId, creds);
      this.keys.set(sessionId, keys);
    };
    return {
      state,
      saveCreds: persist,
      // The same rule as the real store (JournaledAuthState.isLinked): a pairing sets both.
      isLinked: () => !!creds.me && !!creds.account,
      flush: async () => {
        this.calls.push(`flush:${sessionId}`);
        await this.flushGate;
        persist();
      },
      close: async () => {
        this.calls.push(`close:${sessionId}`);
        persist();
      },
    };
  }

  async removeAuth(sessionId: string): Promise<void> {
    this.calls.push(`removeAuth:${sessionId}`);
    this.creds.delete(sessionId);
    this.keys.delete(sessionId);
  }

  async removeSession(sessionId: string): Promise<void> {
    this.calls.push(`removeSession:${sessionId}`);
    await this.removeAuth(sessionId);
    this.metas.delete(sessionId);
  }

  async saveMeta(meta: SessionMeta): Promise<void> {
    this.metas.set(meta.sessionId, { ...meta });
  }

  async loadMeta(sessionId: string): Promise<SessionMeta | undefined> {
    return this.metas.get(sessionId);
  }

  async listMeta(): Promise<SessionMeta[]> {
    this.calls.push('listMeta');
    return [...this.metas.values()];
  }

  async listSessionIds(): Promise<string[]> {
    return [...new Set([...this.metas.keys(), ...this.creds.keys()])].sort();
  }
}

export const _fits = new MemorySessionStore() satisfies SessionStore;
