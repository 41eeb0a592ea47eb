import type { SessionStore } from '../storage/types.js';
import type { Metrics } from './types.js';

const OPERATIONS = ['openAuthState', 'removeAuth', 'removeSession', 'saveMeta', 'loadMeta', 'listMeta', 'listSessionIds'] as const;

/**
 * The session store with each operation counted (`wa_worker.storage.operations`) and each
 * failure counted again (`wa_worker.storage.errors`), by operation and driver. Only when
 * telemetry is on; the store itself is unchanged.
 */
export function instrumentedStore(store: SessionStore, driver: string, metrics: Metrics): SessionStore {
  const wrapped: Record<string, unknown> = {};
  for (const op of OPERATIONS) {
    wrapped[op] = async (...args: unknown[]) => {
      try {
        const result = await (store[op] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
        metrics.storageOperation(op, driver, true);
        return result;
      } catch (err) {
        metrics.storageOperation(op, driver, false);
        throw err;
      }
    };
  }
  return wrapped as unknown as SessionStore;
}
