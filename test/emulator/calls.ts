/**
 * Voice and video calls from emulated contacts to linked accounts, as WhatsApp signals them
 * (protocol notes 2, §6): the server pushes `<call from=<caller LID> id t><offer call-id
 * call-creator caller_pn>[<video/>]…</offer></call>` to every open connection of the account;
 * a device that rejects sends `<call from=<me> to=<caller> id><reject call-id call-creator
 * count="0"/></call>` and waits (Baileys' `query`) for a stanza with the same id: the server
 * answers `<ack id class="call" type="reject">`, and the caller observes the reject.
 * Calls are not queued for offline devices (a call rings now or never).
 */
import { randomBytes } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { normalizePhone } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { child, node, serverId, unixNow } from './frames.js';
import type { ContactStore } from './signal-contacts.js';

/** A reject a contact observed: which call, and the account (phone digits) whose device rejected it. */
export interface CallReject {
  callId: string;
  by: string;
  device: number;
}

export interface CallsHost {
  readonly contacts: ContactStore;
  connectionsOf(phone?: string): ClientConnection[];
  /** Wakes `until` waiters. */
  changed(): void;
}

export class Calls {
  /** Per contact phone: the rejects it observed, in order. */
  private readonly rejects = new Map<string, CallReject[]>();

  constructor(private readonly host: CallsHost) {}

  /**
   * `contactPhone` calls `accountPhone`: the offer goes to every open connection of the account,
   * from the contact's LID with its PN in `caller_pn` (as WhatsApp addresses LID contacts).
   * Resolves with the call id and how many connections it rang on.
   */
  call(contactPhone: string, accountPhone: string, opts: { video?: boolean } = {}): { callId: string; rang: number } {
    const contact = this.host.contacts.get(contactPhone);
    if (!contact) throw new Error(`unknown contact ${contactPhone}`);
    const callId = randomBytes(16).toString('hex').toUpperCase();
    const media = opts.video
      ? [
          node('audio', { enc: 'opus', rate: '16000' }),
          node('video', { enc: 'vp8', dec: 'vp8', orientation: '0', screen_width: '1080', screen_height: '1920' }),
        ]
      : [node('audio', { enc: 'opus', rate: '16000' }), node('audio', { enc: 'opus', rate: '8000' })];
    return {
      callId,
      rang: this.push(accountPhone, contact.lidJid, 'offer', { 'call-id': callId, 'call-creator': contact.lidJid, caller_pn: contact.pnJid }, media),
    };
  }

  /** The call ends: unanswered (`timeout`) or hung up by the caller (`terminate`). */
  end(contactPhone: string, accountPhone: string, callId: string, reason: 'timeout' | 'terminate' = 'terminate'): number {
    const contact = this.host.contacts.get(contactPhone);
    if (!contact) throw new Error(`unknown contact ${contactPhone}`);
    const attrs = { 'call-id': callId, 'call-creator': contact.lidJid, ...(reason === 'timeout' ? { reason: 'timeout' } : {}) };
    return this.push(accountPhone, contact.lidJid, 'terminate', attrs);
  }

  /** A `<call>` stanza from a device: a reject is recorded for the caller and acknowledged with the stanza's id. */
  onClientCall(conn: ClientConnection, stanza: BinaryNode): void {
    const reject = child(stanza, 'reject');
    const id = stanza.attrs.id;
    if (id) conn.send(node('ack', { id, class: 'call', type: reject ? 'reject' : undefined, from: stanza.attrs.to }));
    if (!reject || !conn.account || !conn.device) return;
    const caller = this.callerAt(reject.attrs['call-creator'] ?? stanza.attrs.to);
    const callId = reject.attrs['call-id'];
    if (!caller || !callId) return;
    const list = this.rejects.get(caller) ?? [];
    list.push({ callId, by: conn.account.phone, device: conn.device.deviceId });
    this.rejects.set(caller, list);
    this.host.changed();
  }

  /** The rejects `contactPhone` observed, in order. */
  rejectsOf(contactPhone: string): CallReject[] {
    return [...(this.rejects.get(normalizePhone(contactPhone)) ?? [])];
  }

  /** The contact (phone digits) a JID names, by PN or LID, device part ignored. */
  private callerAt(jid: string | undefined): string | undefined {
    if (!jid) return undefined;
    const [user = '', server] = jid.split('@');
    const bare = user.split(':')[0] ?? '';
    const contact = server === 'lid' ? this.host.contacts.byLid(bare) : server === 's.whatsapp.net' ? this.host.contacts.get(bare) : undefined;
    return contact?.phone;
  }

  private push(accountPhone: string, from: string, tag: string, attrs: Record<string, string>, content?: BinaryNode[]): number {
    const conns = this.host.connectionsOf(accountPhone).filter((c) => c.device);
    for (const conn of conns) conn.send(node('call', { from, id: serverId('call'), t: unixNow() }, [node(tag, attrs, content)]));
    return conns.length;
  }
}
