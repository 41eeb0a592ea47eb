/**
 * Contacts' presence and profiles, and the account's own profile and block list, as WhatsApp's
 * server keeps and answers them (protocol notes 2, §3 and §4):
 * - `<presence to=contact type="subscribe">` from a device subscribes that connection (until it
 *   closes) to the contact's presence: the contact's current presence is sent at once, then every
 *   change (`contactPresence`): `<presence from [type="unavailable" last]>` and
 *   `<chatstate from><composing [media="audio"]/> | <paused/></chatstate>`, `from` being the JID
 *   the device subscribed with (PN or LID);
 * - `w:profile:picture` get (a contact's: `<picture url>`, 404 when none, 401 when hidden) and set
 *   (the account's own: bytes kept; no content removes it); usync `<status>` (a contact's about,
 *   `code="401"` when hidden); `w:biz` (a business profile, or no `<profile>`); `status` set
 *   (the account's about); `blocklist` get/set (items by LID, with `pn_jid` on block);
 * - the account's push name, set through app state, is read where it travels in clear: the
 *   `<presence name>` Baileys sends once it has applied its own patch.
 * `refuse(xmlns)` makes WhatsApp answer that namespace's IQs with an error (403).
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import { normalizePhone } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { bytes, child, iqResult, node, S_WHATSAPP_NET } from './frames.js';
import type { Contact, ContactStore } from './signal-contacts.js';

export type ContactPresenceState = 'available' | 'unavailable' | 'composing' | 'recording' | 'paused';

export interface ContactProfileSettings {
  /** The URL `profilePictureUrl` answers (undefined: no picture, 404). */
  pictureUrl?: string;
  /** The picture exists but is hidden from this account (401). */
  pictureHidden?: boolean;
  about?: string;
  /** unix seconds (default: when set) */
  aboutSetAt?: number;
  /** The about is hidden (`<status code="401"/>`). */
  aboutHidden?: boolean;
  business?: { description?: string; category?: string; email?: string; website?: string; address?: string };
}

/** What an account set on its own profile, and its block list (LIDs, with the PN given on block). */
export interface AccountProfile {
  name: string | undefined;
  about: string | undefined;
  /** The picture bytes as received (Baileys sends a 640×640 JPEG). */
  picture: Buffer | undefined;
  blocklist: Array<{ jid: string; pn?: string }>;
}

interface Own {
  name?: string;
  about?: string;
  picture?: Buffer;
  blocklist: Map<string, string | undefined>;
}

export class Profiles {
  /** Per connection: the contacts it subscribed to (phone → the JID it subscribed with). */
  private readonly subscriptions = new Map<ClientConnection, Map<string, string>>();
  private readonly contactProfiles = new Map<string, ContactProfileSettings>();
  private readonly presences = new Map<string, { state: 'available' | 'unavailable'; lastSeen?: number }>();
  private readonly own = new Map<string, Own>();
  private readonly refused = new Set<string>();

  constructor(
    private readonly contacts: ContactStore,
    private readonly changed: () => void,
  ) {}

  // ---- control ----

  /** The contact goes online/offline (to subscribers: `<presence>`), or types/records/pauses (`<chatstate>`). */
  contactPresence(contactPhone: string, state: ContactPresenceState, opts: { lastSeen?: number } = {}): number {
    const contact = this.contact(contactPhone);
    if (state === 'available' || state === 'unavailable') {
      this.presences.set(contact.phone, { state, ...(opts.lastSeen !== undefined ? { lastSeen: opts.lastSeen } : {}) });
    }
    let sent = 0;
    for (const [conn, subs] of this.subscriptions) {
      const jid = subs.get(contact.phone);
      if (!jid || !conn.isOpen) continue;
      conn.send(this.presenceStanza(contact, jid, state));
      sent += 1;
    }
    return sent;
  }

  setContactProfile(contactPhone: string, settings: ContactProfileSettings): void {
    const contact = this.contact(contactPhone);
    this.contactProfiles.set(contact.phone, { ...settings, aboutSetAt: settings.aboutSetAt ?? Math.floor(Date.now() / 1000) });
  }

  accountProfile(accountPhone: string): AccountProfile {
    const own = this.own.get(normalizePhone(accountPhone));
    return {
      name: own?.name,
      about: own?.about,
      picture: own?.picture,
      blocklist: [...(own?.blocklist ?? new Map<string, string | undefined>())].map(([jid, pn]) => ({ jid, ...(pn ? { pn } : {}) })),
    };
  }

  /** Contacts a connection of the account subscribed to (phones). */
  subscribers(contactPhone: string): number {
    const phone = normalizePhone(contactPhone);
    return [...this.subscriptions.entries()].filter(([conn, subs]) => conn.isOpen && subs.has(phone)).length;
  }

  /** IQs of this namespace (`blocklist`, `status`, `w:profile:picture`, `w:biz`) are answered with `<error code="403">` until `accept`. */
  refuse(xmlns: string): void {
    this.refused.add(xmlns);
  }

  accept(xmlns: string): void {
    this.refused.delete(xmlns);
  }

  // ---- hooks ----

  /** A client `<presence>`: a subscription, or the push name it announces. */
  onPresence(conn: ClientConnection, stanza: BinaryNode): void {
    const account = conn.account;
    if (!account) return;
    if (stanza.attrs.type === 'subscribe') {
      const contact = this.contactAt(stanza.attrs.to);
      if (!contact || !stanza.attrs.to) return;
      const jid = bareJid(stanza.attrs.to);
      let subs = this.subscriptions.get(conn);
      if (!subs) this.subscriptions.set(conn, (subs = new Map()));
      subs.set(contact.phone, jid);
      // The server answers a subscription with the contact's current presence.
      const current = this.presences.get(contact.phone);
      conn.send(this.presenceStanza(contact, jid, current?.state ?? 'unavailable'));
      this.changed();
      return;
    }
    const name = stanza.attrs.name;
    if (name && stanza.attrs.type === undefined) {
      this.ownOf(account.phone).name = name;
      this.changed();
    }
  }

  onClose(conn: ClientConnection): void {
    this.subscriptions.delete(conn);
  }

  /** The answer to a profile IQ, or undefined when the IQ is not one. */
  answerIq(conn: ClientConnection, iq: BinaryNode): BinaryNode | undefined {
    const xmlns = iq.attrs.xmlns ?? '';
    if (!['w:profile:picture', 'status', 'w:biz', 'blocklist'].includes(xmlns)) return undefined;
    if (this.refused.has(xmlns)) return iqError(iq, 403, 'forbidden');
    const account = conn.account;
    if (!account) return iqError(iq, 401, 'not-authorized');
    const own = this.ownOf(account.phone);
    switch (xmlns) {
      case 'w:profile:picture':
        return iq.attrs.type === 'get' ? this.answerPictureGet(iq) : this.answerPictureSet(iq, own);
      case 'status': {
        const text = bytes(child(iq, 'status'))?.toString('utf8');
        if (iq.attrs.type !== 'set' || text === undefined) return iqError(iq, 400, 'bad-request');
        own.about = text;
        this.changed();
        return iqResult(iq);
      }
      case 'w:biz':
        return this.answerBusiness(iq);
      default:
        return this.answerBlocklist(iq, own);
    }
  }

  /** usync `<status>` for one user: the contact's about (undefined for another protocol). */
  usyncPart(protocol: string, user: { pn: string } | undefined): BinaryNode | undefined {
    if (protocol !== 'status') return undefined;
    const profile = user ? this.contactProfiles.get(user.pn) : undefined;
    if (profile?.aboutHidden) return node('status', { code: '401' });
    if (!profile?.about) return node('status', {});
    return node('status', { t: profile.aboutSetAt }, Buffer.from(profile.about, 'utf8'));
  }

  // ---- answers ----

  private answerPictureGet(iq: BinaryNode): BinaryNode {
    const contact = this.contactAt(iq.attrs.target);
    const profile = contact ? this.contactProfiles.get(contact.phone) : undefined;
    if (profile?.pictureHidden) return iqError(iq, 401, 'not-authorized');
    if (!profile?.pictureUrl) return iqError(iq, 404, 'item-not-found');
    return iqResult(iq, [node('picture', { id: '1', type: child(iq, 'picture')?.attrs.type ?? 'image', url: profile.pictureUrl })]);
  }

  private answerPictureSet(iq: BinaryNode, own: Own): BinaryNode {
    // Only the account's own picture (no `target`); groups are not emulated.
    if (iq.attrs.target) return iqError(iq, 403, 'forbidden');
    const picture = bytes(child(iq, 'picture'));
    if (picture && picture.length > 0) own.picture = picture;
    else delete own.picture;
    this.changed();
    return iqResult(iq, picture ? [node('picture', { id: String(Date.now()) })] : undefined);
  }

  private answerBusiness(iq: BinaryNode): BinaryNode {
    const asked = child(child(iq, 'business_profile'), 'profile')?.attrs.jid;
    const contact = this.contactAt(asked);
    const business = contact ? this.contactProfiles.get(contact.phone)?.business : undefined;
    if (!business) return iqResult(iq, [node('business_profile', { v: '244' })]);
    const text = (tag: string, value: string | undefined): BinaryNode[] => (value ? [node(tag, {}, Buffer.from(value, 'utf8'))] : []);
    return iqResult(iq, [
      node('business_profile', { v: '244' }, [
        node('profile', { jid: asked }, [
          ...text('address', business.address),
          ...text('description', business.description),
          ...text('website', business.website),
          ...text('email', business.email),
          ...(business.category ? [node('categories', {}, [node('category', { id: '1' }, Buffer.from(business.category, 'utf8'))])] : []),
        ]),
      ]),
    ]);
  }

  private answerBlocklist(iq: BinaryNode, own: Own): BinaryNode {
    if (iq.attrs.type === 'get') {
      return iqResult(iq, [
        node(
          'list',
          {},
          [...own.blocklist.keys()].map((jid) => node('item', { jid })),
        ),
      ]);
    }
    const item = child(iq, 'item');
    const jid = item?.attrs.jid;
    // WhatsApp blocks by LID (Baileys sends the LID, and the PN on block).
    if (!item || !jid?.endsWith('@lid') || (item.attrs.action !== 'block' && item.attrs.action !== 'unblock')) return iqError(iq, 400, 'bad-request');
    if (item.attrs.action === 'block') {
      if (!item.attrs.pn_jid) return iqError(iq, 400, 'bad-request');
      own.blocklist.set(jid, item.attrs.pn_jid);
    } else {
      own.blocklist.delete(jid);
    }
    this.changed();
    return iqResult(iq);
  }

  // ---- helpers ----

  private presenceStanza(contact: Contact, from: string, state: ContactPresenceState): BinaryNode {
    if (state === 'available') return node('presence', { from });
    if (state === 'unavailable') {
      const last = this.presences.get(contact.phone)?.lastSeen;
      return node('presence', { from, type: 'unavailable', last: last ?? 'deny' });
    }
    const content = state === 'recording' ? node('composing', { media: 'audio' }) : node(state, {});
    return node('chatstate', { from }, [content]);
  }

  private contact(phone: string): Contact {
    const contact = this.contacts.get(phone);
    if (!contact) throw new Error(`unknown contact ${phone}: addContact first`);
    return contact;
  }

  /** The contact a JID names, by PN or LID (device ignored). */
  private contactAt(jid: string | undefined): Contact | undefined {
    if (!jid) return undefined;
    const [user = '', server] = jid.split('@');
    const bare = user.split(':')[0] ?? '';
    if (server === S_WHATSAPP_NET) return this.contacts.get(bare);
    if (server === 'lid') return this.contacts.byLid(bare);
    return undefined;
  }

  private ownOf(phone: string): Own {
    let own = this.own.get(phone);
    if (!own) this.own.set(phone, (own = { blocklist: new Map() }));
    return own;
  }
}

const bareJid = (jid: string): string => {
  const [user = '', server = ''] = jid.split('@');
  return `${user.split(':')[0]}@${server}`;
};

function iqError(iq: BinaryNode, code: number, text: string): BinaryNode {
  return node('iq', { from: S_WHATSAPP_NET, type: 'error', id: iq.attrs.id }, [node('error', { code, text })]);
}
