/**
 * Wire framing (3-byte big-endian length prefix, client intro header) and small
 * helpers for building binary nodes the way the real server does.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';

/**
 * Splits the client's byte stream into frames. The first bytes are the intro:
 * optionally `ED 00 01 <u24 len> <routing info>`, then `WA <ver> <dict>`.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private introDone = false;

  push(data: Uint8Array): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : Buffer.from(data);
    if (!this.introDone) {
      if (this.buf.length >= 2 && this.buf.toString('latin1', 0, 2) === 'ED') {
        if (this.buf.length < 7) return [];
        const len = (this.buf[4]! << 16) | this.buf.readUInt16BE(5);
        if (this.buf.length < 7 + len + 4) return [];
        this.buf = this.buf.subarray(7 + len);
      }
      if (this.buf.length < 4) return [];
      if (this.buf.toString('latin1', 0, 2) !== 'WA') throw new Error('bad intro header');
      this.buf = this.buf.subarray(4);
      this.introDone = true;
    }
    const frames: Buffer[] = [];
    while (this.buf.length >= 3) {
      const size = (this.buf[0]! << 16) | (this.buf[1]! << 8) | this.buf[2]!;
      if (this.buf.length < size + 3) break;
      frames.push(this.buf.subarray(3, size + 3));
      this.buf = this.buf.subarray(size + 3);
    }
    return frames;
  }
}

/** Prefixes a frame with its 3-byte length (the server never sends an intro). */
export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(3 + payload.length);
  out[0] = (payload.length >>> 16) & 0xff;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

export const S_WHATSAPP_NET = 's.whatsapp.net';

/**
 * Builds a node with every attribute forced to a string: the binary encoder
 * silently drops non-string values while still counting them, corrupting the frame.
 */
export function node(tag: string, attrs: Record<string, string | number | boolean | undefined> = {}, content?: BinaryNode[] | Uint8Array | string): BinaryNode {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined) clean[k] = String(v);
  }
  return content === undefined ? { tag, attrs: clean } : { tag, attrs: clean, content };
}

/** The empty `<iq type="result">` answer to a client IQ. */
export function iqResult(req: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return node('iq', { from: S_WHATSAPP_NET, type: 'result', id: req.attrs.id }, content);
}

export function children(n: BinaryNode | undefined): BinaryNode[] {
  return n && Array.isArray(n.content) ? n.content : [];
}

export function child(n: BinaryNode | undefined, tag: string): BinaryNode | undefined {
  return children(n).find((c) => c.tag === tag);
}

export function bytes(n: BinaryNode | undefined): Buffer | undefined {
  if (!n || n.content === undefined) return undefined;
  if (typeof n.content === 'string') return Buffer.from(n.content, 'utf8');
  if (n.content instanceof Uint8Array) return Buffer.from(n.content);
  return undefined;
}

let counter = 0;
/** Unique ids for server-initiated stanzas. */
export function serverId(prefix = 'emu'): string {
  counter += 1;
  return `${prefix}.${Date.now().toString(36)}.${counter}`;
}

export const unixNow = (): string => String(Math.floor(Date.now() / 1000));
