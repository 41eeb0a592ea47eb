/**
 * What WhatsApp does with a message it holds for a companion device: it keeps the message until
 * that device acknowledges it (a receipt of any type but 'retry', or an `ack`/nack), and hands it
 * out again, with offline="1", when the device logs in next. A device that got a message but
 * went away before its receipt (crash, dropped socket, 440/515/401...) gets it again; one that
 * receipted it never sees it twice.
 *
 * Redelivery re-encrypts the stored plaintext. The real server resends the stored ciphertext; a
 * device that already decrypted it cannot decrypt it again, answers with a retry receipt, and the
 * sender re-encrypts. The emulator takes that shortcut directly: either way the device gets the
 * same message (same id, same `t`) again.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, CompanionDevice } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { bytes, child, children } from './frames.js';
import type { PreKeyBundle } from './signal-device.js';

/** One message for one device, from the contact's send until the device acknowledges it. */
export interface Outgoing {
  readonly id: string;
  /** send order: a redelivery goes out before anything sent after it */
  readonly seq: number;
  /** the stanza encrypted when the contact sent it, for the first write (undefined once written) */
  first: BinaryNode | undefined;
  /** the same stanza (id, t, attrs) encrypted anew; `fresh`: start a new session from this bundle first */
  rebuild: (fresh?: PreKeyBundle) => Promise<BinaryNode>;
  /** the connection holding it unacknowledged; undefined: waiting for the device's next login */
  conn: ClientConnection | undefined;
  /** nacks still to come for copies the device answered with a retry receipt (they are not acknowledgements of the resend) */
  staleAcks: number;
  retries: number;
}

/** What the delivery bookkeeping needs from the server. */
export interface DeliveryHost {
  connectionsOf(phone: string): ClientConnection[];
  log(msg: string, extra?: unknown): void;
  /** Something observable changed (a message acknowledged): `until` waits re-check. */
  changed?(): void;
}

/** Baileys gives up after 5 retry receipts (maxMsgRetryCount); a bound in case a client never does. */
const MAX_RESENDS = 10;

const withOffline = (s: BinaryNode): BinaryNode => ({ ...s, attrs: { ...s.attrs, offline: '1' } });

const bigEndian = (b: Uint8Array | undefined): number => [...(b ?? [])].reduce((n, x) => n * 256 + x, 0);

/** The prekey bundle a retry receipt carries when the device wants a new session (Baileys: from its 2nd retry on). */
export function bundleFromRetry(receipt: BinaryNode): PreKeyBundle | undefined {
  const keys = child(receipt, 'keys');
  const identityKey = bytes(child(keys, 'identity'));
  const skey = child(keys, 'skey');
  const skeyValue = bytes(child(skey, 'value'));
  const signature = bytes(child(skey, 'signature'));
  if (!identityKey || !skeyValue || !signature) return undefined;
  const key = child(keys, 'key');
  const keyValue = bytes(child(key, 'value'));
  return {
    registrationId: bigEndian(bytes(child(receipt, 'registration'))),
    identityKey,
    signedPreKey: { keyId: bigEndian(bytes(child(skey, 'id'))), publicKey: skeyValue, signature },
    ...(keyValue ? { preKey: { keyId: bigEndian(bytes(child(key, 'id'))), publicKey: keyValue } } : {}),
  };
}

export class Delivery {
  private seq = 0;
  /** per device: written, not yet acknowledged (including those waiting for redelivery), by message id */
  private readonly unacked = new WeakMap<CompanionDevice, Map<string, Outgoing>>();
  /** connections past their offline replay: what a closing sibling connection leaves goes straight to them */
  private readonly replayed = new WeakSet<ClientConnection>();

  constructor(private readonly host: DeliveryHost) {}

  unackedOf(device: CompanionDevice): Map<string, Outgoing> {
    let m = this.unacked.get(device);
    if (!m) this.unacked.set(device, (m = new Map()));
    return m;
  }

  /** Writes a contact's message to the device's newest open connection (true), or queues it for its next login (false). */
  deliver(account: Account, device: CompanionDevice, first: BinaryNode, rebuild: Outgoing['rebuild']): boolean {
    const entry: Outgoing = { id: first.attrs.id ?? '', seq: this.seq++, first, rebuild, conn: undefined, staleAcks: 0, retries: 0 };
    const conn = this.host
      .connectionsOf(account.phone)
      .filter((c) => c.device === device)
      .at(-1);
    if (!conn) {
      device.offlineQueue.push(entry);
      return false;
    }
    this.write(conn, device, entry, first);
    return true;
  }

  private write(conn: ClientConnection, device: CompanionDevice, entry: Outgoing, stanza: BinaryNode): void {
    entry.conn = conn;
    entry.first = undefined;
    this.unackedOf(device).set(entry.id, entry);
    conn.send(stanza);
  }

  /**
   * Writes, with offline="1" and in the order they were first sent, the device's messages waiting
   * for redelivery (re-encrypted) and its offline queue. Returns how many were written.
   */
  async replay(conn: ClientConnection, account: Account, device: CompanionDevice): Promise<number> {
    const unacked = this.unackedOf(device);
    const redo = [...unacked.values()].filter((e) => e.conn === undefined).sort((a, b) => a.seq - b.seq);
    // claimed: if `conn` closes meanwhile, onClose hands them back; a concurrent replay skips them
    for (const e of redo) e.conn = conn;
    const rebuilt: Array<{ e: Outgoing; stanza: BinaryNode; again: boolean }> = [];
    for (const e of redo) {
      try {
        rebuilt.push({ e, stanza: await e.rebuild(), again: true });
      } catch (err) {
        if (e.conn === conn) e.conn = undefined;
        this.host.log(`message ${e.id}: re-encrypting for redelivery failed`, err);
      }
    }
    if (!conn.isOpen) return 0;
    const queued = device.offlineQueue.splice(0).map((e) => ({ e, stanza: e.first, again: false }));
    const out = [...rebuilt.filter(({ e }) => e.conn === conn && unacked.get(e.id) === e), ...queued].sort((a, b) => a.e.seq - b.e.seq);
    for (const { e, stanza, again } of out) {
      if (!stanza) continue;
      this.write(conn, device, e, withOffline(stanza));
      if (again) account.redelivered += 1;
    }
    this.replayed.add(conn);
    return out.length;
  }

  /** A receipt from a device: acknowledges its ids, or (type retry) asks for the message again. */
  async onReceipt(conn: ClientConnection, receipt: BinaryNode): Promise<void> {
    const unacked = conn.device && this.unacked.get(conn.device);
    if (!unacked) return;
    if (receipt.attrs.type === 'retry') {
      const entry = receipt.attrs.id === undefined ? undefined : unacked.get(receipt.attrs.id);
      if (entry?.conn === conn) await this.resend(conn, entry, receipt);
      return;
    }
    const ids = [receipt.attrs.id, ...children(child(receipt, 'list')).map((item) => item.attrs.id)];
    for (const id of ids) if (id !== undefined) unacked.delete(id);
    this.host.changed?.();
  }

  /** What a sender does on a retry receipt: encrypt the message again (a new session if the device sent keys) and resend it. */
  private async resend(conn: ClientConnection, entry: Outgoing, receipt: BinaryNode): Promise<void> {
    if (++entry.retries > MAX_RESENDS) return;
    // Baileys nacks the copy it failed on right after the retry receipt: that nack is not about the resend
    entry.staleAcks += 1;
    const fresh = bundleFromRetry(receipt);
    const useFresh = fresh && conn.device && Buffer.from(fresh.identityKey).equals(conn.device.identityKey) ? fresh : undefined;
    try {
      const stanza = await entry.rebuild(useFresh);
      if (entry.conn === conn) conn.send(stanza);
    } catch (err) {
      this.host.log(`message ${entry.id}: re-encrypting after a retry receipt failed`, err);
    }
  }

  /** `<ack class="message">` from a device (Baileys' nack, or its ack of a message it sends no receipt for), or its `<ack class="notification">` of a group notification: handled. */
  onAck(conn: ClientConnection, ack: BinaryNode): void {
    const unacked = conn.device && this.unacked.get(conn.device);
    const entry = (ack.attrs.class === 'message' || ack.attrs.class === 'notification') && ack.attrs.id !== undefined ? unacked?.get(ack.attrs.id) : undefined;
    if (!unacked || !entry) return;
    if (entry.staleAcks > 0) entry.staleAcks -= 1;
    else unacked.delete(entry.id);
  }

  /**
   * A connection closed: what it held unacknowledged waits for the device's next login, or goes at
   * once to a newer connection of the device that is already past its offline replay (the old one
   * was replaced by it). A device no longer linked (`linked` false) drops everything.
   */
  onClose(conn: ClientConnection, linked: boolean): void {
    const { account, device } = conn;
    const unacked = device && this.unacked.get(device);
    if (!account || !device || !unacked) return;
    if (!linked) {
      unacked.clear();
      device.offlineQueue.length = 0;
      return;
    }
    let moved = 0;
    for (const e of unacked.values()) {
      if (e.conn !== conn) continue;
      e.conn = undefined;
      e.staleAcks = 0;
      moved += 1;
    }
    const successor = this.host
      .connectionsOf(account.phone)
      .filter((c) => c.device === device && this.replayed.has(c))
      .at(-1);
    if (moved > 0 && successor) {
      this.replay(successor, account, device).catch((err: unknown) => this.host.log(`conn ${successor.id}: redelivery failed`, err));
    }
  }
}
