import { WorkerError } from '../../src/util/errors.js';
import type { BlobStore } from '../../src/storage/types.js';

/** Objects in a Map, with S3-like listing semantics. */
export class MemoryBlobStore {
  readonly objects = new Map<string, Buffer>();

  async get(key: string): Promise<Buffer | undefined> {
    const body = this.objects.get(key);
    return body && Buffer.from(body);
  }
  async put(key: string, body: Buffer): Promise<void> {
    this.objects.set(key, Buffer.from(body));
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async listChildren(prefix: string): Promise<string[]> {
    const names = new Set<string>();
    for (const k of this.objects.keys()) {
      const rest = k.slice(prefix.length);
      if (k.startsWith(prefix) && rest.includes('/')) names.add(rest.slice(0, rest.indexOf('/')));
    }
    return [...names].sort();
  }
  async deletePrefix(prefix: string): Promise<void> {
    for (const k of await this.list(prefix)) this.objects.delete(k);
  }
}

/** Counts what reaches the wrapped store: objects put (the unit of write cost) and the rest. */
export class CountingBlobStore {
  puts = 0;
  readonly putKeys: string[] = [];
  gets = 0;
  deletes = 0;
  lists = 0;

  constructor(readonly inner: BlobStore) {}

  get(key: string): Promise<Buffer | undefined> {
    this.gets++;
    return this.inner.get(key);
  }
  async put(key: string, body: Buffer): Promise<void> {
    await this.inner.put(key, body);
    this.puts++;
    this.putKeys.push(key);
  }
  delete(key: string): Promise<void> {
    this.deletes++;
    return this.inner.delete(key);
  }
  list(prefix: string): Promise<string[]> {
    this.lists++;
    return this.inner.list(prefix);
  }
  listChildren(prefix: string): Promise<string[]> {
    return this.inner.listChildren(prefix);
  }
  deletePrefix(prefix: string): Promise<void> {
    return this.inner.deletePrefix(prefix);
  }
}

/**
 * A storage outage on demand: the next `failPuts` puts (or every call while `down`) fail with
 * STORAGE_UNAVAILABLE. `landThenFail` makes a put store the object and still report failure
 * (a timeout after the server committed); `holdNextPut` keeps the next put's object aside and
 * reports failure, to be landed later with `landHeld()` (a request that completes late).
 */
export class FailingBlobStore extends MemoryBlobStore {
  failPuts = 0;
  down = false;
  landThenFail = false;
  attempts = 0;
  private heldPut: { key: string; body: Buffer } | undefined;
  private holdNext = false;

  override async put(key: string, body: Buffer): Promise<void> {
    this.attempts++;
    if (this.holdNext) {
      this.holdNext = false;
      this.heldPut = { key, body: Buffer.from(body) };
      throw new WorkerError('STORAGE_UNAVAILABLE', 'injected: request timed out (will land later)');
    }
    if (this.down || this.failPuts > 0) {
      if (this.failPuts > 0) this.failPuts--;
      if (this.landThenFail) await super.put(key, body);
      throw new WorkerError('STORAGE_UNAVAILABLE', 'injected outage');
    }
    await super.put(key, body);
  }
  override async list(prefix: string): Promise<string[]> {
    if (this.down) throw new WorkerError('STORAGE_UNAVAILABLE', 'injected outage');
    return super.list(prefix);
  }
  holdNextPut(): void {
    this.holdNext = true;
  }
  async landHeld(): Promise<string> {
    const held = this.heldPut;
    if (!held) throw new Error('no put was held');
    this.heldPut = undefined;
    await super.put(held.key, held.body);
    return held.key;
  }
}

// The fakes are real BlobStores: checked by the compiler, not by convention.
export const fakesFit = [new MemoryBlobStore(), new CountingBlobStore(new MemoryBlobStore()), new FailingBlobStore()] satisfies BlobStore[];
