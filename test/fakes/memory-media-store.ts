import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ByteLimit, mediaPrefix, type MediaStore } from '../../src/storage/media-store.js';

/** Media in memory, streamed in and out like the real stores (with the same size limit). */
export class MemoryMediaStore implements MediaStore {
  readonly files = new Map<string, { body: Buffer; contentType: string | undefined }>();

  async putStream(key: string, body: Readable, opts: { contentType?: string | undefined; maxBytes: number }): Promise<{ size: number }> {
    const chunks: Buffer[] = [];
    const limit = new ByteLimit(opts.maxBytes);
    await pipeline(body, limit, new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) }));
    this.files.set(key, { body: Buffer.concat(chunks), contentType: opts.contentType });
    return { size: limit.bytes };
  }

  async getStream(key: string): Promise<Readable | undefined> {
    const file = this.files.get(key);
    return file ? Readable.from([file.body]) : undefined;
  }

  async deleteSession(sessionId: string): Promise<void> {
    const prefix = mediaPrefix(sessionId);
    for (const key of [...this.files.keys()]) if (key.startsWith(prefix)) this.files.delete(key);
  }
}

export const _fits = new MemoryMediaStore() satisfies MediaStore;
