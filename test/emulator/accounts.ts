/**
 * What the emulated WhatsApp "server" remembers about accounts: the primary phone
 * (a Signal device whose identity key doubles as the ADV account signature key) and
 * each linked companion device with the keys it registered and uploaded.
 */
import { createHash } from 'node:crypto';
import type { Outgoing } from './delivery.js';
import type { PreKeyBundle } from './signal-device.js';
import { SignalDevice } from './signal-device.js';

export interface CompanionDevice {
  deviceId: number;
  /** the client's static Noise key; a login must present the same one */
  noiseKey: Buffer;
  /** Signal identity, registration id and signed prekey from the registration payload / uploads */
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  /** uploaded one-time prekeys not yet handed out (each is handed out once) */
  preKeys: Map<number, Buffer>;
  /** the first-login history bootstrap was delivered */
  bootstrapped: boolean;
  /** messages sent while the device was offline, delivered with offline="1" on its next login (then unacked: see delivery.ts) */
  offlineQueue: Outgoing[];
}

/** Digits only: '+49 170-1234' -> '491701234'. */
export const normalizePhone = (phone: string): string => {
  const digits = phone.replace(/[^0-9]/g, '');
  if (!digits) throw new Error(`not a phone number: ${phone}`);
  return digits;
};

/** A stable fake LID for a phone number (15 digits, never equal to the phone). */
export const lidForPhone = (phone: string): string => {
  const h = createHash('sha256').update(`lid:${phone}`).digest();
  return `1${(h.readBigUInt64BE(0) % 10n ** 14n).toString().padStart(14, '0')}`;
};

/** How many sent message ids per account the duplicate check remembers. */
const SENT_IDS_KEPT = 10_000;

export class Account {
  readonly lid: string;
  readonly phoneDevice = new SignalDevice();
  readonly devices = new Map<number, CompanionDevice>();
  nextDeviceId = 1;
  banned = false;
  /** counters for chaos tests (EmulatorState.accounts) */
  redelivered = 0;
  maxConcurrentConnections = 0;
  loginConflicts = 0;
  duplicateSends = 0;
  /** the last presence its clients announced (`<presence type="available|unavailable">`), if any */
  presence: 'available' | 'unavailable' | undefined;
  /** ids of message stanzas accepted from the account's clients, oldest first (a Set keeps insertion order) */
  private readonly sentIds = new Set<string>();

  constructor(readonly phone: string) {
    this.lid = lidForPhone(phone);
  }

  get pnJid(): string {
    return `${this.phone}@s.whatsapp.net`;
  }

  /** Remembers a sent message id; false if it was already accepted (WhatsApp delivers one message per key). */
  acceptSentId(id: string): boolean {
    if (this.sentIds.has(id)) return false;
    this.sentIds.add(id);
    if (this.sentIds.size > SENT_IDS_KEPT) {
      const oldest = this.sentIds.values().next();
      if (!oldest.done) this.sentIds.delete(oldest.value);
    }
    return true;
  }

  get lidJid(): string {
    return `${this.lid}@lid`;
  }
}

/** A companion device's bundle for an emulated peer, consuming one uploaded one-time prekey if any remain. */
export function takeCompanionBundle(device: CompanionDevice): PreKeyBundle {
  const bundle: PreKeyBundle = {
    registrationId: device.registrationId,
    identityKey: device.identityKey,
    signedPreKey: device.signedPreKey,
  };
  const first = device.preKeys.entries().next();
  if (!first.done) {
    const [keyId, publicKey] = first.value;
    device.preKeys.delete(keyId);
    bundle.preKey = { keyId, publicKey };
  }
  return bundle;
}

export class AccountStore {
  private readonly byPhone = new Map<string, Account>();

  get(phone: string): Account | undefined {
    return this.byPhone.get(normalizePhone(phone));
  }

  getOrCreate(phone: string): Account {
    const digits = normalizePhone(phone);
    let acc = this.byPhone.get(digits);
    if (!acc) {
      acc = new Account(digits);
      this.byPhone.set(digits, acc);
    }
    return acc;
  }

  byLid(lid: string): Account | undefined {
    for (const acc of this.byPhone.values()) if (acc.lid === lid) return acc;
    return undefined;
  }

  all(): Account[] {
    return [...this.byPhone.values()];
  }

  clear(): void {
    this.byPhone.clear();
  }
}
