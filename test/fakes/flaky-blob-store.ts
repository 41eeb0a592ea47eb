import { WorkerError } from '../../src/util/errors.js';
import type { BlobStore } from '../../src/storage/types.js';

/** In-memory objects; counts writes; can be told to fail the next N writes (storage outage). */
export class FlakyBlobStore implements BlobStore {
  readonly objects = new Map<string, Buffer>();
  puts = 0;
  failNextPuts = 0;
  private waiters: Array<() => void> = [];

  async get(key: string): Promise<Buffer | undefined> {
    return this.objects.get(key);
  }
  async put(key: string, body: Buffer): Promise<void> {
    if (this.failNextPuts > 0) {
      this.failNextPuts--;
      throw new WorkerError('STORAGE_UNAVAILABLE', 'injected outage');
    }
    this.objects.set(key, Buffer.from(body));
    this.puts++;
    for (const w of this.waiters.splice(0)) w();
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async listChildren(prefix: string): Promise<string[]> {
    const names = new Set<string>();
    for (const k of this.objects.keys()) if (k.startsWith(prefix) && k.slice(prefix.length).includes('/')) names.add(k.slice(prefix.length).split('/')[0]!);
    return [...names].sort();
  }
  async deletePrefix(prefix: string): Promise<void> {
    for (const k of await this.list(prefix)) this.objects.delete(k);
  }
  /** Resolves after the next successful put. */
  nextPut(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export const _fits = new FlakyBlobStore() satisfies BlobStore;
