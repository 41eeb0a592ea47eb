/**
 * One client WebSocket: Noise handshake, then encrypted binary nodes in both
 * directions. Incoming frames are decrypted in arrival order and handled one at
 * a time; handlers must never await a reply from the client (that reply is a
 * later frame of this same queue, so awaiting it deadlocks). Server-initiated
 * IQs go through `sendIq`, whose promise is awaited only outside the queue.
 */
import { EventEmitter } from 'node:events';
import { decodeBinaryNode, encodeBinaryNode } from '@whiskeysockets/baileys';
import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import type WebSocket from 'ws';
import type { Account, CompanionDevice } from './accounts.js';
import { encodeFrame, FrameReader, node } from './frames.js';
import type { HandshakeResult, NoiseResponder, NoiseTransport } from './noise.js';

/** Registration data from the REGISTRATION ClientPayload. */
export interface PendingRegistration {
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  refs: string[];
  refsIssuedAt: number;
}

/** What a connection needs from the emulator that owns it. */
export interface ConnectionHost {
  readonly responder: () => NoiseResponder;
  responseDelayMs(): number;
  onLogin(conn: ClientConnection, payload: proto.ClientPayload, clientStatic: Buffer): void;
  onRegistration(conn: ClientConnection, reg: PendingRegistration): void;
  onNode(conn: ClientConnection, stanza: BinaryNode): Promise<void>;
  onClose(conn: ClientConnection): void;
  log(msg: string, extra?: unknown): void;
}

const bigEndian = (b: Uint8Array | null | undefined): number => {
  let n = 0;
  for (const x of b ?? []) n = n * 256 + x;
  return n;
};

let nextConnId = 1;

export class ClientConnection extends EventEmitter {
  readonly id = nextConnId++;
  private readonly reader = new FrameReader();
  private readonly noise: NoiseResponder;
  private transport: NoiseTransport | undefined;
  private stage: 'hello' | 'finish' | 'open' | 'closed' = 'hello';
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private readonly pendingIqs = new Map<string, { resolve: (n: BinaryNode) => void; reject: (e: Error) => void }>();

  /** set once a LOGIN is accepted */
  account: Account | undefined;
  device: CompanionDevice | undefined;
  /** set for a REGISTRATION connection */
  registration: PendingRegistration | undefined;
  /** pairing-code state (companion_hello received) */
  pairingHello: { phone: string; wrappedEphemeral: Buffer; ref: string } | undefined;
  clientPayload: proto.ClientPayload | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly host: ConnectionHost,
  ) {
    super();
    this.noise = host.responder();
    ws.on('message', (data: Buffer) => this.onData(data));
    ws.on('close', () => this.onSocketClosed());
    ws.on('error', () => this.onSocketClosed());
  }

  get isOpen(): boolean {
    return this.stage !== 'closed';
  }

  private onData(data: Buffer): void {
    if (this.stage === 'closed') return;
    try {
      for (const frame of this.reader.push(data)) this.onFrame(frame);
    } catch (err) {
      this.host.log(`conn ${this.id}: bad frame, closing`, err);
      this.terminate();
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.stage === 'hello') {
      this.sendRaw(this.noise.respondToHello(frame));
      this.stage = 'finish';
      return;
    }
    if (this.stage === 'finish') {
      const result: HandshakeResult = this.noise.finish(frame);
      this.transport = result.transport;
      this.stage = 'open';
      this.onHandshake(result);
      return;
    }
    if (this.stage !== 'open' || !this.transport) return;
    // decrypt synchronously to keep the counter in order; decoding may inflate, so chain it
    const plain = this.transport.decrypt(frame);
    this.inbound = this.inbound.then(async () => {
      if (this.stage === 'closed') return;
      let stanza: BinaryNode;
      try {
        stanza = await decodeBinaryNode(plain);
      } catch (err) {
        this.host.log(`conn ${this.id}: undecodable node`, err);
        return;
      }
      await this.dispatch(stanza).catch((err: unknown) => this.host.log(`conn ${this.id}: handler failed`, err));
    });
  }

  private onHandshake({ clientPayload, clientStaticPublic }: HandshakeResult): void {
    this.clientPayload = clientPayload;
    const reg = clientPayload.devicePairingData;
    if (reg?.eIdent && reg.eSkeyVal && reg.eSkeySig) {
      this.registration = {
        noiseKey: clientStaticPublic,
        identityKey: Buffer.from(reg.eIdent),
        registrationId: bigEndian(reg.eRegid),
        signedPreKey: {
          keyId: bigEndian(reg.eSkeyId),
          publicKey: Buffer.from(reg.eSkeyVal),
          signature: Buffer.from(reg.eSkeySig),
        },
        refs: [],
        refsIssuedAt: Date.now(),
      };
      this.host.onRegistration(this, this.registration);
    } else {
      this.host.onLogin(this, clientPayload, clientStaticPublic);
    }
  }

  private async dispatch(stanza: BinaryNode): Promise<void> {
    const id = stanza.attrs.id;
    if (stanza.tag === 'iq' && id && (stanza.attrs.type === 'result' || stanza.attrs.type === 'error')) {
      const pending = this.pendingIqs.get(id);
      if (pending) {
        this.pendingIqs.delete(id);
        pending.resolve(stanza);
        return;
      }
    }
    await this.host.onNode(this, stanza);
  }

  private sendRaw(payload: Uint8Array): void {
    this.scheduleSend(encodeFrame(payload));
  }

  /** Sends frames in order; with a response delay every frame is held back by that much (no accumulation). */
  private scheduleSend(frame: Buffer): void {
    const delay = this.host.responseDelayMs();
    const due = Date.now() + delay;
    this.outbound = this.outbound.then(async () => {
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(frame);
    });
  }

  /** Encodes, encrypts (now, to keep counters in order) and queues a node. */
  send(stanza: BinaryNode): void {
    if (this.stage !== 'open' || !this.transport) return;
    this.scheduleSend(encodeFrame(this.transport.encrypt(encodeBinaryNode(stanza))));
  }

  /** Sends a server IQ and resolves with the client's answer. Never await this inside a node handler. */
  sendIq(stanza: BinaryNode, timeoutMs = 15_000): Promise<BinaryNode> {
    const id = stanza.attrs.id;
    if (!id) throw new Error('sendIq needs an id');
    return new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingIqs.delete(id);
        reject(new Error(`client did not answer iq ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pendingIqs.set(id, {
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send(stanza);
    });
  }

  /** Sends a terminal stanza (stream:error / failure), then closes if the client has not done so. */
  async sendFatal(stanza: BinaryNode, graceMs = 3000): Promise<void> {
    this.send(stanza);
    await this.outbound;
    await this.waitClosed(graceMs);
  }

  /** Resolves once the socket is closed; forces it closed after `graceMs`. */
  waitClosed(graceMs = 3000): Promise<void> {
    if (this.stage === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.terminate(), graceMs);
      timer.unref();
      this.once('closed', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Abrupt drop, as a network failure. */
  terminate(): void {
    this.ws.terminate();
    this.onSocketClosed();
  }

  private onSocketClosed(): void {
    if (this.stage === 'closed') return;
    this.stage = 'closed';
    for (const p of this.pendingIqs.values()) p.reject(new Error('connection closed'));
    this.pendingIqs.clear();
    this.host.onClose(this);
    this.emit('closed');
  }
}

export const streamError = (code?: string, child?: BinaryNode): BinaryNode => node('stream:error', code ? { code } : {}, child ? [child] : undefined);
export const failure = (reason: string): BinaryNode => node('failure', { reason, location: 'emu' });
