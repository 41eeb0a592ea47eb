/**
 * What an emulated contact's phone does with a message from a linked device that it cannot
 * decrypt (Bad MAC, "Key used already": typically the sender encrypted with a rolled-back session,
 * a worker restarted from a Signal store that lost its last writes). Like a real phone it forgets
 * its session with that device and answers with a retry receipt that carries a fresh key bundle,
 * so that one round is enough: Baileys (handleReceipt → sendMessagesAgain) starts a new session
 * from the bundle (extractE2ESessionFromRetryReceipt) and resends the same message id, taken from
 * its recent-message cache or from getMessage.
 *
 * The contact gives up on a message (counts it `undecryptable`, logs the "copy for … failed to
 * decrypt" line the chaos suite reads) when a copy still fails after MAX_RETRY_RECEIPTS receipts,
 * or when the device acknowledges a receipt without having resent the message: Baileys resends
 * before it acks the receipt, so that ack means no resend is coming (message not found, or its
 * own resend limit; rc14 counts every receipt twice, so it answers only the first two).
 *
 * A receipt stays with the server until the device acks it: if its connection closes first, it is
 * written again (offline="1") on the device's next login, as WhatsApp does with any stanza.
 * 1:1 only: one contact per message id.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { CompanionDevice } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { node, unixNow } from './frames.js';
import type { Contact } from './signal-contacts.js';

/** Retry receipts a contact sends per message id before it gives up (WhatsApp clients stop after a few too). */
export const MAX_RETRY_RECEIPTS = 3;

/** Baileys' KEY_BUNDLE_TYPE: the `<type>` of a `<keys>` bundle (a Curve25519 key, djb type 5). */
const KEY_BUNDLE_TYPE = Buffer.from([5]);

const bigEndian = (n: number, bytes: number): Buffer => {
  const b = Buffer.alloc(bytes);
  for (let i = bytes - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) b[i] = v & 0xff;
  return b;
};

/** A copy the contact could not decrypt, as it arrived. */
export interface FailedCopy {
  id: string;
  /** the `to` of the device's stanza: the chat JID (PN or LID) under which Baileys cached the message */
  chat: string;
  /** the address of the copy (for the log) */
  jid: string;
  /** the message's timestamp, echoed in `<retry t>` */
  t: string;
  error: unknown;
}

interface Receipt {
  readonly stanza: BinaryNode;
  /** copies of the message seen when it was sent: a later copy is the device's answer to it */
  readonly copiesWhenSent: number;
  /** the connection it was written to, until the device acks it; undefined: waiting for its next login */
  conn: ClientConnection | undefined;
}

/** One message the contact could not decrypt yet, from one device. */
interface Retry {
  readonly contact: Contact;
  readonly first: FailedCopy;
  lastError: unknown;
  /** copies of the message that reached the contact (the first one and resends) */
  copies: number;
  /** receipts sent so far (the `count` of the last one) */
  sent: number;
  /** receipts not yet acknowledged by the device, oldest first */
  readonly receipts: Receipt[];
}

/** What the retry bookkeeping needs from the server. */
export interface RetryHost {
  connectionsOf(phone: string): ClientConnection[];
  log(msg: string, extra?: unknown): void;
}

export class ContactRetries {
  /** per sending device: messages a contact asked it to resend, by message id */
  private readonly open = new WeakMap<CompanionDevice, Map<string, Retry>>();
  /** connections past their offline replay: receipts a closing sibling leaves go straight to them */
  private readonly replayed = new WeakSet<ClientConnection>();

  constructor(private readonly host: RetryHost) {}

  private retriesOf(device: CompanionDevice): Map<string, Retry> {
    let m = this.open.get(device);
    if (!m) this.open.set(device, (m = new Map()));
    return m;
  }

  /** The contact waiting for a resend of `id` from `device`: its copy counts although the id was already sent. */
  awaiting(device: CompanionDevice, id: string): Contact | undefined {
    return this.open.get(device)?.get(id)?.contact;
  }

  /** A copy of `id` for `contact` arrived (counted before decrypting: it answers the receipts sent before it). */
  copyArrived(device: CompanionDevice, id: string, contact: Contact): void {
    const r = this.open.get(device)?.get(id);
    if (r?.contact === contact) r.copies += 1;
  }

  /** The contact decrypted `id`: nothing more to ask for (receipts still unacked are moot). */
  decrypted(device: CompanionDevice, id: string): void {
    this.open.get(device)?.delete(id);
  }

  /** The contact could not decrypt its copy from the device of `conn`: ask for it again, or give up. */
  failed(conn: ClientConnection, device: CompanionDevice, contact: Contact, copy: FailedCopy): void {
    const retries = this.retriesOf(device);
    let r = retries.get(copy.id);
    if (!r) retries.set(copy.id, (r = { contact, first: copy, lastError: copy.error, copies: 1, sent: 0, receipts: [] }));
    r.lastError = copy.error;
    if (r.sent >= MAX_RETRY_RECEIPTS) {
      this.giveUp(device, r, `after ${r.sent} retry receipts`);
      return;
    }
    // the session is broken on one side at least: the bundle below makes the sender start a new one
    contact.device.forgetSession(device.identityKey);
    r.sent += 1;
    contact.retryReceiptsSent += 1;
    const receipt: Receipt = { stanza: this.retryReceipt(contact, r), copiesWhenSent: r.copies, conn: undefined };
    r.receipts.push(receipt);
    this.host.log(
      `message ${copy.id}: ${contact.phone} could not decrypt it, retry receipt ${r.sent}/${MAX_RETRY_RECEIPTS} to device ${device.deviceId}`,
      copy.error,
    );
    if (conn.isOpen) this.write(conn, receipt, false);
    else this.toNewest(conn, device, [receipt]);
  }

  /**
   * `<receipt type="retry">` as a phone sends it, and as Baileys' sendRetryRequest builds its own:
   * `from` is the chat JID the device sent to (Baileys looks the message up under it), `<retry>`
   * with the count, `<registration>` (4 bytes big-endian) and a `<keys>` bundle with a one-time
   * prekey of its own. No `<device-identity>`: the contact is a primary device, and Baileys'
   * extractE2ESessionFromRetryReceipt does not read it.
   */
  private retryReceipt(contact: Contact, r: Retry): BinaryNode {
    const bundle = contact.device.takeBundle();
    const preKey = bundle.preKey;
    return node('receipt', { from: r.first.chat, id: r.first.id, type: 'retry', t: unixNow() }, [
      node('retry', { count: r.sent, id: r.first.id, t: r.first.t, v: '1', error: '0' }),
      node('registration', {}, bigEndian(bundle.registrationId, 4)),
      node('keys', {}, [
        node('type', {}, KEY_BUNDLE_TYPE),
        node('identity', {}, Buffer.from(bundle.identityKey)),
        ...(preKey ? [node('key', {}, [node('id', {}, bigEndian(preKey.keyId, 3)), node('value', {}, Buffer.from(preKey.publicKey))])] : []),
        node('skey', {}, [
          node('id', {}, bigEndian(bundle.signedPreKey.keyId, 3)),
          node('value', {}, Buffer.from(bundle.signedPreKey.publicKey)),
          node('signature', {}, Buffer.from(bundle.signedPreKey.signature)),
        ]),
      ]),
    ]);
  }

  private giveUp(device: CompanionDevice, r: Retry, why: string): void {
    this.open.get(device)?.delete(r.first.id);
    r.contact.undecryptable += 1;
    // this exact prefix is what scripts/chaos/emulator-log.ts counts as lost at a contact
    this.host.log(`message ${r.first.id}: copy for ${r.first.jid} failed to decrypt (still, ${why})`, r.lastError);
  }

  private write(conn: ClientConnection, receipt: Receipt, offline: boolean): void {
    receipt.conn = conn;
    conn.send(offline ? { ...receipt.stanza, attrs: { ...receipt.stanza.attrs, offline: '1' } } : receipt.stanza);
  }

  /** Receipts whose connection went away: to a newer connection of the device already past its replay, else its next login. */
  private toNewest(gone: ClientConnection, device: CompanionDevice, receipts: Receipt[]): void {
    const account = gone.account;
    const successor = account
      ? this.host
          .connectionsOf(account.phone)
          .filter((c) => c !== gone && c.device === device && this.replayed.has(c))
          .at(-1)
      : undefined;
    for (const receipt of receipts) {
      receipt.conn = undefined;
      if (successor) this.write(successor, receipt, true);
    }
  }

  /** `<ack class="receipt" type="retry">`: the device handled the oldest receipt it had; without a resend since, none is coming. */
  onAck(conn: ClientConnection, ack: BinaryNode): void {
    const device = conn.device;
    if (!device || ack.attrs.class !== 'receipt' || ack.attrs.type !== 'retry' || ack.attrs.id === undefined) return;
    const r = this.open.get(device)?.get(ack.attrs.id);
    const i = r ? r.receipts.findIndex((x) => x.conn === conn) : -1;
    const receipt = r?.receipts[i];
    if (!r || !receipt) return;
    r.receipts.splice(i, 1);
    if (r.copies === receipt.copiesWhenSent) this.giveUp(device, r, `the device acknowledged retry receipt ${r.sent} without resending`);
  }

  /** After `<passive><active/>`: receipts waiting for this device, with offline="1". Returns how many. */
  replay(conn: ClientConnection, device: CompanionDevice): number {
    // closed meanwhile: onClose has run, what is written now would be held by a dead connection
    if (!conn.isOpen) return 0;
    this.replayed.add(conn);
    let n = 0;
    for (const r of this.open.get(device)?.values() ?? []) {
      for (const receipt of r.receipts) {
        if (receipt.conn !== undefined) continue;
        this.write(conn, receipt, true);
        n += 1;
      }
    }
    return n;
  }

  /** A connection closed: its unacknowledged receipts wait for the device (all dropped if it is no longer linked). */
  onClose(conn: ClientConnection, linked: boolean): void {
    const device = conn.device;
    if (!device) return;
    if (!linked) {
      this.open.delete(device);
      return;
    }
    const left: Receipt[] = [];
    for (const r of this.open.get(device)?.values() ?? []) {
      for (const receipt of [...r.receipts]) {
        if (receipt.conn !== conn) continue;
        // a copy after it means the device answered it (its ack got lost with the connection)
        if (r.copies > receipt.copiesWhenSent) r.receipts.splice(r.receipts.indexOf(receipt), 1);
        else left.push(receipt);
      }
    }
    if (left.length > 0) this.toNewest(conn, device, left);
  }
}
