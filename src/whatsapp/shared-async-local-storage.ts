import * as asyncHooks from 'node:async_hooks';
import { createRequire, syncBuiltinESMExports } from 'node:module';

/**
 * Baileys gives every socket its own `AsyncLocalStorage` (the key store's transactions, in
 * `addTransactionCapability`) and never disables it. In Node 20 each enabled AsyncLocalStorage
 * stays in a process-wide list that a promise hook walks on EVERY async resource the process
 * creates (every promise): with N sockets opened so far, each promise costs O(N), for ever, since
 * a reconnect opens a new socket and adds another. With hundreds of sessions in one process that
 * is most of the CPU (and restoring N sessions at once costs O(N²)).
 *
 * `SharedAsyncLocalStorage` has the same API, but all its instances live in ONE real
 * AsyncLocalStorage, whose store maps each instance to its value: one entry in that list
 * however many sockets come and go. Installed by the composition root before any socket exists,
 * it replaces the class `node:async_hooks` exports (CommonJS and ES module bindings alike), so
 * the `new AsyncLocalStorage()` in Baileys builds one of these.
 */
type Real = typeof asyncHooks.AsyncLocalStorage;
type Fn<R, A extends unknown[]> = (...args: A) => R;

export function createSharedAsyncLocalStorageClass(RealAls: Real = asyncHooks.AsyncLocalStorage) {
  const shared = new RealAls<Map<object, unknown>>();

  const withValue = (owner: object, value: unknown): Map<object, unknown> => {
    const next = new Map(shared.getStore());
    next.set(owner, value);
    return next;
  };
  const without = (owner: object): Map<object, unknown> | undefined => {
    const current = shared.getStore();
    if (!current?.has(owner)) return undefined;
    const next = new Map(current);
    next.delete(owner);
    return next;
  };

  return class SharedAsyncLocalStorage<T> {
    static bind = RealAls.bind.bind(RealAls);
    static snapshot = RealAls.snapshot.bind(RealAls);

    getStore(): T | undefined {
      return shared.getStore()?.get(this) as T | undefined;
    }

    run<R, A extends unknown[]>(store: T, callback: Fn<R, A>, ...args: A): R {
      return shared.run(withValue(this, store), callback, ...args);
    }

    exit<R, A extends unknown[]>(callback: Fn<R, A>, ...args: A): R {
      const next = without(this);
      return next ? shared.run(next, callback, ...args) : callback(...args);
    }

    enterWith(store: T): void {
      shared.enterWith(withValue(this, store));
    }

    /** As the real one: this instance's value is gone from the current context on. */
    disable(): void {
      const next = without(this);
      if (next) shared.enterWith(next);
    }
  };
}

let installed = false;

/** Replaces `AsyncLocalStorage` in `node:async_hooks` for the whole process (idempotent). */
export function installSharedAsyncLocalStorage(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const hooks = require('node:async_hooks') as { AsyncLocalStorage: unknown };
  hooks.AsyncLocalStorage = createSharedAsyncLocalStorageClass();
  // ES module imports of node:async_hooks are bindings to the CommonJS exports: refresh them.
  syncBuiltinESMExports();
  installed = true;
}
