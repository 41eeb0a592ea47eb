/**
 * Phase 2: Signal-encrypted 1:1 messages between linked accounts and emulated
 * contacts. The server routes `<participants><to jid>` copies by (user, device):
 * a contact's copy is decrypted as that contact, the copy for the account's own
 * phone is decrypted by the phone. Contacts answer with ack + delivery receipt.
 * Messages from a contact are encrypted per companion device and written to its
 * open connection, or queued and replayed with offline="1" on its next login; until
 * the device acknowledges one, delivery.ts keeps it for redelivery.
 * A message id the account already sent is acked but not delivered again, unless it is the
 * resend a contact asked for with a retry receipt (contact-retry.ts).
 */
import { randomBytes } from 'node:crypto';
import { proto, unpadRandomMax16, writeRandomPadMax16 } from '@whiskeysockets/baileys';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, CompanionDevice } from './accounts.js';
import { takeCompanionBundle } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { child, children, node, unixNow } from './frames.js';
import type { EmulatorServer } from './server.js';
import type { Contact } from './signal-contacts.js';
import type { EncType, PreKeyBundle } from './signal-device.js';
import type { SendResult } from './types.js';
import type { FailedCopy } from './contact-retry.js';
import { encryptMedia, type MediaKind } from './media-crypto.js';
import { SenderKeySession } from './groups.js';
import { GroupSends } from './group-send.js';

/** A media message a contact sends: the file is encrypted and put on the media host first. */
export interface OutgoingMedia {
  kind: MediaKind;
  bytes: Buffer;
  mimeType: string;
  caption?: string;
  fileName?: string;
  ptt?: boolean;
  /** flip a byte of the stored file after encrypting (its MAC no longer matches) */
  corrupt?: boolean;
}

/** `user[:device]@server` -> parts (device 0 when absent). */
export function parseJid(jid: string): { user: string; device: number; server: string } | undefined {
  const at = jid.indexOf('@');
  if (at < 0) return undefined;
  const [user = '', device] = jid.slice(0, at).split(':');
  const userPart = user.split('_')[0] ?? user; // hosted/agent suffixes are not emulated
  return { user: userPart, device: device ? Number(device) : 0, server: jid.slice(at + 1) };
}

const messageId = (): string => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;

type Target = { kind: 'contact'; contact: Contact } | { kind: 'phone'; account: Account } | { kind: 'companion'; account: Account; device: CompanionDevice };

export class Messaging {
  /** messages devices send to groups (group-send.ts) */
  private readonly groupSends: GroupSends;

  constructor(private readonly server: EmulatorServer) {
    this.groupSends = new GroupSends(server, (jid) => this.resolve(jid));
  }

  private resolve(jid: string): Target | undefined {
    const p = parseJid(jid);
    if (!p) return undefined;
    const isLid = p.server === 'lid';
    // a linked account wins over a contact of the same number (createGroup before linking makes one)
    const account = isLid ? this.server.accounts.byLid(p.user) : this.server.accounts.get(p.user);
    const contact = account ? undefined : isLid ? this.server.contacts.byLid(p.user) : this.server.contacts.get(p.user);
    if (contact) return p.device === 0 ? { kind: 'contact', contact } : undefined;
    if (!account) return undefined;
    if (p.device === 0) return { kind: 'phone', account };
    const device = account.devices.get(p.device);
    return device ? { kind: 'companion', account, device } : undefined;
  }

  /** `<key><user jid>` answer: each one-time prekey (emulated or uploaded by a client) is handed out once. */
  fetchBundle(jid: string, _requester?: ClientConnection): PreKeyBundle | undefined {
    const t = this.resolve(jid);
    if (!t) return undefined;
    if (t.kind === 'contact') return t.contact.device.takeBundle();
    if (t.kind === 'phone') return t.account.phoneDevice.takeBundle();
    return takeCompanionBundle(t.device);
  }

  /** A message stanza sent by a linked client. */
  async onClientMessage(conn: ClientConnection, stanza: BinaryNode): Promise<void> {
    const sender = conn.device;
    const account = conn.account;
    const id = stanza.attrs.id ?? messageId();
    const to = stanza.attrs.to ?? '';
    if (!sender || !account) {
      conn.send(node('ack', { class: 'message', id, from: to, t: unixNow(), error: '401' }));
      return;
    }
    // the resend a contact asked for (retry receipt) reuses the id: it goes to that contact only
    const awaiting = stanza.attrs.id === undefined ? undefined : this.server.contactRetries.awaiting(sender, stanza.attrs.id);
    if (!awaiting && stanza.attrs.id !== undefined && !account.acceptSentId(stanza.attrs.id)) {
      // WhatsApp delivers one message per message key: a resend (e.g. by a worker restarted mid-send) is acked, not fanned out
      account.duplicateSends += 1;
      this.server.changed(); // `until` on duplicateSends re-checks
      conn.send(node('ack', { class: 'message', id, from: to, t: unixNow() }));
      return;
    }
    if (to.endsWith('@g.us') && !awaiting) {
      await this.groupSends.onClientGroupMessage(conn, account, sender, stanza, id);
      return;
    }
    // direct <enc> children (peer messages) are addressed to the stanza's `to`
    const copies: Array<{ jid: string; enc: BinaryNode }> = [];
    for (const c of children(stanza)) {
      if (c.tag === 'enc') copies.push({ jid: to, enc: c });
      if (c.tag === 'participants') {
        for (const t of children(c)) {
          const enc = child(t, 'enc');
          if (t.tag === 'to' && t.attrs.jid && enc) copies.push({ jid: t.attrs.jid, enc });
        }
      }
    }
    const deliveredTo = new Set<Contact>();
    const undecryptable: Array<{ contact: Contact; copy: FailedCopy }> = [];
    const stamp = stanza.attrs.t ?? unixNow();
    for (const { jid, enc } of copies) {
      const target = this.resolve(jid);
      const type = enc.attrs.type as EncType;
      if (!target || !(enc.content instanceof Uint8Array) || (type !== 'pkmsg' && type !== 'msg')) continue;
      if (target.kind === 'contact') {
        if (awaiting && target.contact !== awaiting) continue;
        const failed = await this.toContact(account, sender, target.contact, { id, chat: to, jid, t: stamp, type, ciphertext: enc.content });
        if (failed) undecryptable.push({ contact: target.contact, copy: failed });
        else deliveredTo.add(target.contact);
      } else if (target.kind === 'phone') {
        try {
          // the phone keeps its session state in step; its copy (deviceSentMessage) is not exposed
          await target.account.phoneDevice.decrypt(sender.identityKey, type, enc.content);
        } catch (err) {
          // not "copy for … failed to decrypt": that line means a contact lost the message (scripts/chaos reads it)
          this.server.log(`message ${id}: the phone's copy (${jid}) failed to decrypt (the emulated phone sends no retry receipt)`, err);
        }
      }
      // copies for other companion devices are not relayed (no multi-device fan-out)
    }
    conn.send(node('ack', { class: 'message', id, from: to, t: unixNow() }));
    if (deliveredTo.size > 0) conn.send(node('receipt', { from: to, id, t: unixNow() }));
    // after the server's ack, as on WhatsApp: the contact's retry receipt comes from its phone later
    for (const { contact, copy } of undecryptable) this.server.contactRetries.failed(conn, sender, contact, copy);
  }

  /**
   * A contact's copy: decrypted and recorded (undefined), or the failure for contact-retry.ts to
   * answer with a retry receipt.
   */
  private async toContact(
    account: Account,
    sender: CompanionDevice,
    contact: Contact,
    copy: Omit<FailedCopy, 'error'> & { type: EncType; ciphertext: Uint8Array },
  ): Promise<FailedCopy | undefined> {
    const retries = this.server.contactRetries;
    retries.copyArrived(sender, copy.id, contact);
    let message: proto.Message;
    try {
      message = proto.Message.decode(unpadRandomMax16(await contact.device.decrypt(sender.identityKey, copy.type, copy.ciphertext)));
    } catch (error) {
      return { id: copy.id, chat: copy.chat, jid: copy.jid, t: copy.t, error };
    }
    retries.decrypted(sender, copy.id);
    contact.record({ id: copy.id, to: contact.phone, from: account.phone, fromDevice: sender.deviceId, t: Number(copy.t), message });
    this.server.changed(); // `until` waits on what contacts received re-check
    return undefined;
  }

  /** Delivery/read/retry receipts from a device for messages it got from contacts. */
  onClientReceipt(conn: ClientConnection, stanza: BinaryNode): Promise<void> {
    return this.server.delivery.onReceipt(conn, stanza);
  }

  private readonly senderKeys = new Map<string, SenderKeySession>();

  /**
   * A contact's message to a group: one `skmsg` for everyone, plus per account device a 1:1
   * copy of the sender key distribution message (written now, or queued for offline delivery).
   */
  async sendGroupFromContact(fromContactPhone: string, groupJid: string, message: proto.IMessage): Promise<SendResult & { delivered: number }> {
    const group = this.server.groups.get(groupJid);
    if (!group) throw new Error(`unknown group ${groupJid}`);
    const contact = this.server.contacts.get(fromContactPhone) ?? this.server.contacts.add(fromContactPhone);
    if (!group.members.has(contact.phone)) throw new Error(`${contact.phone} is not a member of ${groupJid}`);
    const sessionKey = `${groupJid}|${contact.phone}`;
    let senderKey = this.senderKeys.get(sessionKey);
    if (!senderKey) this.senderKeys.set(sessionKey, (senderKey = new SenderKeySession(groupJid, contact.lidJid)));
    const skdm = writeRandomPadMax16(
      proto.Message.encode({
        senderKeyDistributionMessage: { groupId: groupJid, axolotlSenderKeyDistributionMessage: await senderKey.distribution() },
      }).finish(),
    );
    const plain = writeRandomPadMax16(proto.Message.encode(message).finish());
    const skmsg = await senderKey.encrypt(plain);
    const id = messageId();
    const attrs = {
      from: groupJid,
      participant: contact.lidJid,
      participant_pn: contact.pnJid,
      addressing_mode: 'lid',
      notify: `Contact ${contact.phone}`,
      type: 'text',
      id,
      t: unixNow(),
    };
    let online = false;
    let delivered = 0;
    for (const phone of group.members) {
      const account = this.server.accounts.get(phone);
      if (!account) continue;
      for (const device of account.devices.values()) {
        const stanza = async (sk: Uint8Array, fresh?: PreKeyBundle): Promise<BinaryNode> => {
          const { type, ciphertext } = await this.encryptTo(contact, device, skdm, fresh);
          return node('message', attrs, [node('enc', { v: '2', type }, ciphertext), node('enc', { v: '2', type: 'skmsg' }, sk)]);
        };
        delivered++;
        // a redelivery gets a new skmsg too: a device that decrypted the first one cannot decrypt it twice
        const rebuild = async (fresh?: PreKeyBundle): Promise<BinaryNode> => stanza(await senderKey.encrypt(plain), fresh);
        if (this.server.delivery.deliver(account, device, await stanza(skmsg), rebuild)) online = true;
      }
    }
    return { id, delivery: online ? 'online' : 'queued', delivered };
  }

  /** Uploads the encrypted file to the media host, then sends the media message that points at it. */
  async sendMediaFromContact(fromContactPhone: string, toAccountPhone: string, media: OutgoingMedia): Promise<SendResult> {
    const enc = await encryptMedia(media.bytes, media.kind);
    const file = Buffer.from(enc.file);
    if (media.corrupt) file[0] = (file[0] ?? 0) ^ 0xff;
    const { directPath, url } = this.server.media.put(file, media.kind);
    const common = {
      url,
      directPath,
      mediaKey: enc.mediaKey,
      mimetype: media.mimeType,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: media.bytes.length,
      mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    };
    const caption = media.caption ? { caption: media.caption } : {};
    const message: proto.IMessage =
      media.kind === 'image'
        ? { imageMessage: { ...common, ...caption } }
        : media.kind === 'video'
          ? { videoMessage: { ...common, ...caption } }
          : media.kind === 'audio'
            ? { audioMessage: { ...common, ptt: !!media.ptt } }
            : media.kind === 'sticker'
              ? { stickerMessage: common }
              : { documentMessage: { ...common, ...caption, fileName: media.fileName ?? 'file' } };
    return this.sendFromContact(fromContactPhone, toAccountPhone, message, 'media');
  }

  /** Encrypts `message` from the contact to every companion device of the account (online or queued). */
  async sendFromContact(fromContactPhone: string, toAccountPhone: string, message: proto.IMessage, stanzaType: 'text' | 'media' = 'text'): Promise<SendResult> {
    const contact = this.server.contacts.get(fromContactPhone) ?? this.server.contacts.add(fromContactPhone);
    const account = this.server.accounts.get(toAccountPhone);
    if (!account || account.devices.size === 0) throw new Error(`no linked device for ${toAccountPhone}`);
    const id = messageId();
    const plain = writeRandomPadMax16(proto.Message.encode(message).finish());
    const attrs = { from: contact.lidJid, sender_pn: contact.pnJid, notify: `Contact ${contact.phone}`, type: stanzaType, id, t: unixNow() };
    let online = false;
    for (const device of account.devices.values()) {
      // kept for redelivery: the same id and t, encrypted anew
      const stanza = async (fresh?: PreKeyBundle): Promise<BinaryNode> => {
        const { type, ciphertext } = await this.encryptTo(contact, device, plain, fresh);
        return node('message', attrs, [node('enc', { v: '2', type }, ciphertext)]);
      };
      if (this.server.delivery.deliver(account, device, await stanza(), stanza)) online = true;
    }
    return { id, delivery: online ? 'online' : 'queued' };
  }

  /**
   * `plain` encrypted by the contact for one companion device (a new session from its bundle when needed,
   * or from `fresh`, the keys of a retry receipt, replacing the session).
   */
  private async encryptTo(
    contact: Contact,
    device: CompanionDevice,
    plain: Uint8Array,
    fresh?: PreKeyBundle,
  ): Promise<{ type: EncType; ciphertext: Uint8Array }> {
    if (fresh) {
      contact.device.forgetSession(device.identityKey);
      return contact.device.encrypt(fresh, plain);
    }
    const bundle = (await contact.device.hasSession(device.identityKey))
      ? { registrationId: device.registrationId, identityKey: device.identityKey, signedPreKey: device.signedPreKey }
      : takeCompanionBundle(device);
    return contact.device.encrypt(bundle, plain);
  }
}
