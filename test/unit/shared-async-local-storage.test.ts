import { AsyncLocalStorage } from 'node:async_hooks';
import { createSharedAsyncLocalStorageClass } from '../../src/whatsapp/shared-async-local-storage.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SharedAsyncLocalStorage (all instances in one real AsyncLocalStorage)', () => {
  const Shared = createSharedAsyncLocalStorageClass(AsyncLocalStorage);

  it("keeps each instance's value to its own run, across awaits and timers", async () => {
    const a = new Shared<string>();
    const b = new Shared<string>();
    expect(a.getStore()).toBeUndefined();
    const seen = await a.run('a1', async () => {
      await tick();
      const inner = await b.run('b1', async () => {
        await tick();
        return [a.getStore(), b.getStore()];
      });
      const afterInner = [a.getStore(), b.getStore()];
      const fromTimer = await new Promise((resolve) => setTimeout(() => resolve(a.getStore()), 0));
      return { inner, afterInner, fromTimer };
    });
    expect(seen).toEqual({ inner: ['a1', 'b1'], afterInner: ['a1', undefined], fromTimer: 'a1' });
    expect(a.getStore()).toBeUndefined();
    expect(b.getStore()).toBeUndefined();
  });

  it('isolates concurrent runs of the same instance', async () => {
    const s = new Shared<number>();
    const results = await Promise.all(
      [1, 2, 3].map((n) =>
        s.run(n, async () => {
          await tick();
          await tick();
          return s.getStore();
        }),
      ),
    );
    expect(results).toEqual([1, 2, 3]);
  });

  it('nests runs of one instance and restores the outer value', () => {
    const s = new Shared<string>();
    s.run('outer', () => {
      s.run('inner', () => expect(s.getStore()).toBe('inner'));
      expect(s.getStore()).toBe('outer');
    });
  });

  it("exit() hides only this instance's value; run passes arguments and returns the result", () => {
    const a = new Shared<string>();
    const b = new Shared<string>();
    const out = a.run('a', () => b.run('b', () => a.exit((x: number) => [a.getStore(), b.getStore(), x], 7)));
    expect(out).toEqual([undefined, 'b', 7]);
  });

  it('uses one real AsyncLocalStorage however many instances exist', () => {
    let constructed = 0;
    class CountingAls<T> extends AsyncLocalStorage<T> {
      constructor() {
        super();
        constructed++;
      }
    }
    const Counted = createSharedAsyncLocalStorageClass(CountingAls as typeof AsyncLocalStorage);
    const many = Array.from({ length: 500 }, () => new Counted<number>());
    many.forEach((s, i) => s.run(i, () => expect(s.getStore()).toBe(i)));
    expect(constructed).toBe(1);
  });
});
