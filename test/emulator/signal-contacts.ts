/**
 * Emulated WhatsApp users that a linked account can talk to. Each has one
 * device (device 0, its phone) with a Signal identity; whatever it receives is
 * decrypted with libsignal and kept for the test to inspect.
 */
import { EventEmitter } from 'node:events';
import { lidForPhone, normalizePhone } from './accounts.js';
import { SignalDevice } from './signal-device.js';
import type { ReceivedMessage } from './types.js';

export class Contact {
  readonly lid: string;
  readonly device = new SignalDevice();
  readonly received: ReceivedMessage[] = [];
  /** retry receipts sent for messages it could not decrypt (contact-retry.ts) */
  retryReceiptsSent = 0;
  /** messages it gave up on: still undecryptable after its retry receipts (never in `received`) */
  undecryptable = 0;
  /** ids of its messages an account device reported read (`<receipt type="read">` addressed to it), in order, each once */
  readonly readIds: string[] = [];
  /** chat states (`<chatstate>`) account devices sent it, in order */
  readonly chatStates: Array<{ from: string; state: string }> = [];
  private awaited = 0;
  private readonly events = new EventEmitter();

  constructor(readonly phone: string) {
    this.lid = lidForPhone(phone);
  }

  get pnJid(): string {
    return `${this.phone}@s.whatsapp.net`;
  }

  get lidJid(): string {
    return `${this.lid}@lid`;
  }

  record(msg: ReceivedMessage): void {
    this.received.push(msg);
    this.events.emit('message');
  }

  /** The next message not yet handed to a waiter (already received ones count). */
  next(timeoutMs: number): Promise<ReceivedMessage> {
    const index = this.awaited++;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.received[index];
        if (!m) return false;
        clearTimeout(timer);
        this.events.off('message', check);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        this.events.off('message', check);
        reject(new Error(`contact ${this.phone} received no message #${index + 1} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.events.on('message', check);
    });
  }
}

export class ContactStore {
  private readonly byPhone = new Map<string, Contact>();

  add(phone: string): Contact {
    const digits = normalizePhone(phone);
    let c = this.byPhone.get(digits);
    if (!c) {
      c = new Contact(digits);
      this.byPhone.set(digits, c);
    }
    return c;
  }

  get(phone: string): Contact | undefined {
    return this.byPhone.get(normalizePhone(phone));
  }

  byLid(lid: string): Contact | undefined {
    for (const c of this.byPhone.values()) if (c.lid === lid) return c;
    return undefined;
  }

  all(): Contact[] {
    return [...this.byPhone.values()];
  }
}
