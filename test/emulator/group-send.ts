/**
 * Sending TO a group from a linked device, as WhatsApp does it (protocol notes 2 §8.1, §8.2, §8.4):
 * - `<iq xmlns="w:g2" type="get" to=<group>><query request="interactive"/></iq>` (Baileys' `groupMetadata`, sent
 *   before every group send) is answered with the `<group>` node: LID-addressed participants with their
 *   `phone_number`, the creator as `superadmin`, `addressing_mode="lid"`.
 * - The device's stanza `<message to=<group>><enc type="skmsg"/><participants><to jid><enc pkmsg|msg/></to>…</participants></message>`:
 *   each emulated contact that is a member decrypts its 1:1 copy (the SenderKeyDistributionMessage), keeps the
 *   sender key, then decrypts the single `skmsg` with it (libsignal's GroupCipher) and records the message with
 *   the group as chat. A later send without a new distribution message decrypts with the kept key.
 * - The server acks the stanza once it took the 1:1 copies, then fans the `skmsg` out to the members (in the
 *   background, in order per group, so the client's next IQs are answered meanwhile) and each member that
 *   decrypted it sends the device a delivery receipt `<receipt from=<group> participant=<member LID> id t/>`
 *   (Baileys: `message-receipt.update` per member).
 * - The account's other linked devices get the stanza as members' devices do (from the group, the sender device as
 *   `participant`, their 1:1 copy before the `skmsg`), relayed as sent.
 * Not emulated: a contact's retry receipt for a group copy it cannot decrypt (it is only counted in `undecryptable`),
 * a retry receipt from another own device for a relayed copy (it gets the same ciphertext again).
 */
import { proto, unpadRandomMax16 } from '@whiskeysockets/baileys';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, CompanionDevice } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { ContactSenderKeys, FanoutMemo } from './contact-sender-keys.js';
import { child, children, iqResult, node, unixNow } from './frames.js';
import type { Group } from './groups.js';
import type { EmulatorServer } from './server.js';
import type { Contact } from './signal-contacts.js';
import type { EncType } from './signal-device.js';

/** The LID and PN of a member (account or contact), by phone digits. */
function memberIds(server: EmulatorServer, phone: string): { lid: string; pn: string } | undefined {
  const member = server.accounts.get(phone) ?? server.contacts.get(phone);
  return member ? { lid: `${member.lid}@lid`, pn: `${member.phone}@s.whatsapp.net` } : undefined;
}

/** The `<group>` node of `w:g2` queries (notes §8.2), LID-addressed. */
export function groupMetadataNode(server: EmulatorServer, group: Group): BinaryNode {
  const creator = memberIds(server, group.creator);
  const participants: BinaryNode[] = [];
  for (const phone of group.members) {
    const ids = memberIds(server, phone);
    if (!ids) continue;
    const type = phone === group.creator ? 'superadmin' : group.admins.has(phone) ? 'admin' : undefined;
    participants.push(node('participant', { jid: ids.lid, phone_number: ids.pn, ...(type ? { type } : {}) }));
  }
  return node(
    'group',
    {
      id: group.jid.split('@')[0],
      subject: group.subject,
      s_t: String(group.createdAt),
      creation: String(group.createdAt),
      creator: creator?.lid,
      creator_pn: creator?.pn,
      addressing_mode: 'lid',
      size: String(participants.length),
    },
    participants,
  );
}

/** One `w:g2` `<query>` answered for the group, whichever handler answered it (group-admin.ts answers a member's). */
export function countMetadataQuery(group: Group): void {
  group.metadataQueries = (group.metadataQueries ?? 0) + 1;
}

const iqError = (iq: BinaryNode, code: string, text: string): BinaryNode =>
  node('iq', { from: iq.attrs.to, type: 'error', id: iq.attrs.id }, [node('error', { code, text })]);

/** Answers a `w:g2` IQ (undefined for any other namespace): the metadata query; other group IQs are not emulated. */
export function answerGroupIq(server: EmulatorServer, conn: ClientConnection, iq: BinaryNode): BinaryNode | undefined {
  if (iq.attrs.xmlns !== 'w:g2') return undefined;
  const query = child(iq, 'query');
  if (iq.attrs.type !== 'get' || !query) return undefined; // counted as unknown by the caller
  const group = server.groups.get(iq.attrs.to ?? '');
  if (!group) return iqError(iq, '404', 'item-not-found');
  // WhatsApp tells non-members nothing about a group
  if (!conn.account || !group.members.has(conn.account.phone)) return iqError(iq, '403', 'forbidden');
  countMetadataQuery(group);
  const answer = iqResult(iq, [groupMetadataNode(server, group)]);
  answer.attrs.from = group.jid;
  return answer;
}

/** What GroupSends needs from messaging.ts: resolving a `<to jid>` to the emulated contact or the account's phone. */
export type CopyTarget =
  { kind: 'contact'; contact: Contact } | { kind: 'phone'; account: Account } | { kind: 'companion'; account: Account; device: CompanionDevice } | undefined;

/** How many sends per group `sentByDevices` keeps (oldest dropped). */
const SENDS_KEPT = 1000;

export class GroupSends {
  private readonly senderKeys = new ContactSenderKeys();
  /** `group|sender device|other own device`: the account's other devices that got the sender device's key */
  private readonly ownKeyHolders = new Set<string>();
  /** Per group, the last fan-out still running (each one starts after the previous one). */
  private readonly fanouts = new Map<string, Promise<void>>();

  constructor(
    private readonly server: EmulatorServer,
    private readonly resolve: (jid: string) => CopyTarget,
  ) {}

  /** A device's message stanza to a group (its id already checked against duplicates). */
  async onClientGroupMessage(conn: ClientConnection, account: Account, sender: CompanionDevice, stanza: BinaryNode, id: string): Promise<void> {
    const to = stanza.attrs.to ?? '';
    const group = this.server.groups.get(to);
    if (!group || !group.members.has(account.phone)) {
      // not a group the account is in: refused, as WhatsApp does (Baileys marks the message ERROR)
      conn.send(node('ack', { class: 'message', id, from: to, t: unixNow(), error: group ? '403' : '404' }));
      return;
    }
    // the sender as members' devices see it (`participant`): its LID device JID in a LID-addressed group
    const senderJid = stanza.attrs.addressing_mode === 'pn' ? `${account.phone}:${sender.deviceId}@s.whatsapp.net` : `${account.lid}:${sender.deviceId}@lid`;
    const distributedTo: string[] = [];
    const ownDevices: Array<{ device: CompanionDevice; enc: BinaryNode }> = [];
    for (const to of children(child(stanza, 'participants'))) {
      const enc = child(to, 'enc');
      if (to.tag !== 'to' || !to.attrs.jid || !(enc?.content instanceof Uint8Array)) continue;
      distributedTo.push(to.attrs.jid);
      const target = this.resolve(to.attrs.jid);
      // the account's other linked devices get the stanza as members do (below); the sender's own copy is dropped
      if (target?.kind === 'companion' && target.account === account && target.device !== sender) ownDevices.push({ device: target.device, enc });
      else await this.distribution(account, sender, group, senderJid, to.attrs.jid, enc.attrs.type as EncType, enc.content);
    }
    group.sentByDevices.push({ id, from: account.phone, distributedTo, at: Date.now() });
    if (group.sentByDevices.length > SENDS_KEPT) group.sentByDevices.shift();
    const skmsgNode = children(stanza).find((c) => c.tag === 'enc' && c.attrs.type === 'skmsg');
    const skmsg = skmsgNode?.content instanceof Uint8Array ? skmsgNode.content : undefined;
    if (skmsg) this.toOwnDevices(account, group, senderJid, stanza, id, skmsg, ownDevices);
    this.server.changed();
    conn.send(node('ack', { class: 'message', id, from: group.jid, t: unixNow() }));
    if (!skmsg) return;
    // The members' copies are fanned out after the ack and off this connection's frame queue, as a server does:
    // the client's next frames (a metadata query before its next send) are not held by ~200 decryptions. Sends to
    // one group are fanned out in order; the members are those of the moment the server took the message.
    const fanout = { account, sender, group, members: [...group.members], senderJid, skmsg, id, stamp: Number(stanza.attrs.t ?? unixNow()) };
    const run = (this.fanouts.get(group.jid) ?? Promise.resolve())
      .then(() => this.fanOut(conn, fanout))
      .catch((err: unknown) => this.server.log(`group message ${id} to ${group.jid}: fan-out failed`, err));
    this.fanouts.set(group.jid, run);
    void run.then(() => {
      if (this.fanouts.get(group.jid) === run) this.fanouts.delete(group.jid);
    });
  }

  /** Every member contact decrypts the `skmsg` with the sender key it holds, records it, and sends a delivery receipt. */
  private async fanOut(
    conn: ClientConnection,
    f: { account: Account; sender: CompanionDevice; group: Group; members: string[]; senderJid: string; skmsg: Uint8Array; id: string; stamp: number },
  ): Promise<void> {
    const { account, group, senderJid, skmsg, id } = f;
    const delivered: Contact[] = [];
    const memo = new FanoutMemo(); // members holding the same key decrypt this message once (contact-sender-keys.ts)
    for (const phone of f.members) {
      const contact = this.server.contacts.get(phone);
      if (!contact || this.server.accounts.get(phone)) continue;
      const message = await this.decryptFor(contact, group, senderJid, skmsg, id, memo);
      if (!message) continue;
      contact.record({
        id,
        to: contact.phone,
        from: account.phone,
        fromDevice: f.sender.deviceId,
        t: f.stamp,
        message,
        group: group.jid,
        participant: senderJid,
      });
      delivered.push(contact);
    }
    await this.triedOnFormerMembers(group, senderJid, skmsg, id);
    this.server.changed();
    // one delivery receipt per member, from its phone (the group as `from`, the member as `participant`)
    for (const contact of delivered) conn.send(node('receipt', { from: group.jid, participant: contact.lidJid, id, t: unixNow() }));
  }

  /**
   * The account's other linked devices get what a member's device gets: the stanza from the group with the sender
   * device as `participant`, their own 1:1 copy (the distribution) before the `skmsg` (Baileys reads them in order),
   * written now or queued. A device that got no distribution with this message (it had the sender key already)
   * gets the `skmsg` alone. The ciphertext is relayed as sent: a redelivery writes it again unchanged.
   */
  private toOwnDevices(
    account: Account,
    group: Group,
    senderJid: string,
    stanza: BinaryNode,
    id: string,
    skmsg: Uint8Array,
    copies: Array<{ device: CompanionDevice; enc: BinaryNode }>,
  ): void {
    const attrs = {
      from: group.jid,
      participant: senderJid,
      participant_pn: `${account.phone}@s.whatsapp.net`,
      addressing_mode: stanza.attrs.addressing_mode ?? 'lid',
      type: stanza.attrs.type ?? 'text',
      id,
      t: stanza.attrs.t ?? unixNow(),
    };
    const skmsgNode = node('enc', { v: '2', type: 'skmsg' }, skmsg);
    for (const device of account.devices.values()) {
      const holder = `${group.jid}|${senderJid}|${device.deviceId}`;
      const copy = copies.find((c) => c.device === device);
      if (copy) this.ownKeyHolders.add(holder);
      else if (!this.ownKeyHolders.has(holder)) continue; // the sender itself, or a device Baileys gave no sender key
      const content = copy ? [node('enc', { v: '2', type: copy.enc.attrs.type ?? 'msg' }, copy.enc.content), skmsgNode] : [skmsgNode];
      const out = node('message', attrs, content);
      this.server.delivery.deliver(account, device, out, async () => out);
    }
  }

  /** A 1:1 copy in `<participants>`: the sender key distribution message for a member's device. */
  private async distribution(
    account: Account,
    sender: CompanionDevice,
    group: Group,
    senderJid: string,
    jid: string,
    type: EncType,
    ciphertext: Uint8Array,
  ): Promise<void> {
    if (type !== 'pkmsg' && type !== 'msg') return;
    const target = this.resolve(jid);
    if (target?.kind === 'phone') {
      // the account's phone keeps its 1:1 session in step; its copy of the group message is not exposed
      await target.account.phoneDevice.decrypt(sender.identityKey, type, ciphertext).catch((err: unknown) => {
        this.server.log(`group message to ${group.jid}: the phone's copy (${jid}) failed to decrypt`, err);
      });
      return;
    }
    if (target?.kind !== 'contact' || !group.members.has(target.contact.phone)) return; // other companions: not relayed
    const contact = target.contact;
    try {
      const plain = proto.Message.decode(unpadRandomMax16(await contact.device.decrypt(sender.identityKey, type, ciphertext)));
      const skdm = plain.senderKeyDistributionMessage;
      if (skdm?.axolotlSenderKeyDistributionMessage && skdm.groupId === group.jid) {
        await this.senderKeys.process(contact, group.jid, senderJid, skdm.axolotlSenderKeyDistributionMessage);
      }
    } catch (err) {
      this.server.log(`group message to ${group.jid} from ${account.phone}: ${contact.phone}'s sender key copy failed to decrypt`, err);
    }
  }

  /**
   * Removed contacts get nothing (WhatsApp stops the fan-out), but they kept the sender key: whether they COULD read
   * the message with it is recorded (`formerMemberReads`), proving the sender rotated its key after the removal.
   */
  private async triedOnFormerMembers(group: Group, senderJid: string, skmsg: Uint8Array, id: string): Promise<void> {
    for (const phone of group.formerMembers ?? []) {
      const contact = this.server.contacts.get(phone);
      if (!contact || group.members.has(phone) || !this.senderKeys.has(contact, group.jid, senderJid)) continue;
      const decrypted = await this.senderKeys.decrypt(contact, group.jid, senderJid, skmsg).then(
        () => true,
        () => false,
      );
      (group.formerMemberReads ??= []).push({ id, phone, decrypted });
    }
  }

  /** The skmsg as one member decrypts it with the sender key it holds; undefined (counted) when it cannot. */
  private async decryptFor(
    contact: Contact,
    group: Group,
    senderJid: string,
    skmsg: Uint8Array,
    id: string,
    memo: FanoutMemo,
  ): Promise<proto.Message | undefined> {
    try {
      if (!this.senderKeys.has(contact, group.jid, senderJid)) throw new Error(`no sender key from ${senderJid}`);
      return proto.Message.decode(unpadRandomMax16(await this.senderKeys.decrypt(contact, group.jid, senderJid, skmsg, memo)));
    } catch (err) {
      contact.undecryptable += 1;
      this.server.log(`message ${id}: ${contact.phone}'s copy of the group message to ${group.jid} failed to decrypt`, err);
      return undefined;
    }
  }
}
