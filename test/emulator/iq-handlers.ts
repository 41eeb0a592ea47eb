/**
 * Answers to the IQs a logged-in Baileys client sends. Anything not known here is
 * answered with an empty result (and counted): an unanswered IQ hangs the client
 * for its 60 s query timeout.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { CompanionDevice } from './accounts.js';
import type { ClientConnection } from './connection.js';
import { bytes, child, children, iqResult, node } from './frames.js';
import type { PreKeyBundle } from './signal-device.js';

/** Baileys uploads prekeys when the server count is <= MIN_PREKEY_COUNT (5). */
export const SKIP_UPLOAD_PREKEY_COUNT = 812;

const be = (n: number, len: number): Buffer => {
  const out = Buffer.alloc(len);
  for (let i = len - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
};
const fromBe = (b: Uint8Array | undefined): number => {
  let n = 0;
  for (const x of b ?? []) n = n * 256 + x;
  return n;
};

export interface UsyncUserInfo {
  /** false for numbers not on WhatsApp */
  exists: boolean;
  pn: string;
  lid: string;
  devices: number[];
}

/** What the IQ handlers need from the emulator. */
export interface IqContext {
  skipPrekeyUpload: boolean;
  /** `<media_conn>`: where and with which token clients upload media */
  mediaConn(): BinaryNode;
  /** look up a user by PN or LID user part + server */
  lookupUser(user: string, server: string): UsyncUserInfo | undefined;
  /** bundle for `<key><user jid>`: a device of an emulated peer or of a linked companion */
  fetchBundle(jid: string, requester?: ClientConnection): PreKeyBundle | undefined;
  onLinkCodeCompanionReg(conn: ClientConnection, iq: BinaryNode): BinaryNode;
  onRemoveCompanion(conn: ClientConnection, iq: BinaryNode): void;
  countUnknown(iq: BinaryNode): void;
  /** A usync query asking for devices (`context="message"` before a send), with how many users it lists (bench counters). */
  countDeviceQuery?(users: number): void;
  /** Profiles (profiles.ts): the answer to a profile IQ, undefined for any other IQ. */
  answerProfileIq?(conn: ClientConnection, iq: BinaryNode): BinaryNode | undefined;
  /** Profiles: a usync protocol's part for one user (`status`), undefined for the others. */
  usyncPart?(protocol: string, user: UsyncUserInfo | undefined): BinaryNode | undefined;
}

/** Stores the `<list>` of one-time prekeys and the `<skey>` a client uploads. */
function storeUpload(device: CompanionDevice, iq: BinaryNode): void {
  for (const key of children(child(iq, 'list'))) {
    const id = fromBe(bytes(child(key, 'id')));
    const value = bytes(child(key, 'value'));
    if (value) device.preKeys.set(id, value);
  }
  const skey = child(iq, 'skey');
  const value = bytes(child(skey, 'value'));
  const signature = bytes(child(skey, 'signature'));
  if (skey && value && signature) {
    device.signedPreKey = { keyId: fromBe(bytes(child(skey, 'id'))), publicKey: value, signature };
  }
  const identity = bytes(child(iq, 'identity'));
  if (identity) device.identityKey = identity;
  const reg = bytes(child(iq, 'registration'));
  if (reg) device.registrationId = fromBe(reg);
}

export function bundleNode(jid: string, b: PreKeyBundle): BinaryNode {
  const content: BinaryNode[] = [
    node('registration', {}, be(b.registrationId, 4)),
    node('type', {}, Buffer.from([5])),
    node('identity', {}, Buffer.from(b.identityKey)),
    node('skey', {}, [
      node('id', {}, be(b.signedPreKey.keyId, 3)),
      node('value', {}, Buffer.from(b.signedPreKey.publicKey)),
      node('signature', {}, Buffer.from(b.signedPreKey.signature)),
    ]),
  ];
  if (b.preKey) {
    content.push(node('key', {}, [node('id', {}, be(b.preKey.keyId, 3)), node('value', {}, Buffer.from(b.preKey.publicKey))]));
  }
  return node('user', { jid }, content);
}

function answerEncrypt(ctx: IqContext, conn: ClientConnection, iq: BinaryNode): BinaryNode {
  const device = conn.device;
  const first = children(iq)[0];
  switch (first?.tag) {
    case 'count': {
      const stored = device?.preKeys.size ?? 0;
      const value = ctx.skipPrekeyUpload ? Math.max(stored, SKIP_UPLOAD_PREKEY_COUNT) : stored;
      return iqResult(iq, [node('count', { value })]);
    }
    case 'digest':
      // Baileys only checks that a <digest> comes back; without one it re-uploads prekeys
      return iqResult(iq, [node('digest', {})]);
    case 'key': {
      const users = children(first).filter((u) => u.tag === 'user');
      const out: BinaryNode[] = [];
      for (const u of users) {
        const jid = u.attrs.jid ?? '';
        const b = ctx.fetchBundle(jid, conn);
        out.push(b ? bundleNode(jid, b) : node('user', { jid }, [node('error', { code: '404', text: 'item-not-found' })]));
      }
      return iqResult(iq, [node('list', {}, out)]);
    }
    case 'rotate':
      if (device) storeUpload(device, first);
      return iqResult(iq);
    default:
      // prekey upload: <registration><type><identity><list><skey> directly under the iq
      if (device && child(iq, 'list')) storeUpload(device, iq);
      return iqResult(iq);
  }
}

function answerUsync(ctx: IqContext, iq: BinaryNode): BinaryNode {
  const usync = child(iq, 'usync');
  const protocols = children(child(usync, 'query')).map((p) => p.tag);
  const users: BinaryNode[] = [];
  for (const u of children(child(usync, 'list'))) {
    let jid = u.attrs.jid;
    const contactNode = child(u, 'contact');
    if (!jid && contactNode && typeof contactNode.content !== 'undefined') {
      const phone = (bytes(contactNode)?.toString('utf8') ?? '').replace(/[^0-9]/g, '');
      jid = `${phone}@s.whatsapp.net`;
    }
    if (!jid) continue;
    const [userPart = '', server = 's.whatsapp.net'] = jid.split('@');
    const user = userPart.split(':')[0] ?? '';
    const info = ctx.lookupUser(user, server);
    const parts: BinaryNode[] = [];
    for (const p of protocols) {
      if (p === 'devices') {
        const devices = info?.exists ? info.devices : [];
        parts.push(
          node('devices', {}, [
            node(
              'device-list',
              {},
              devices.map((d) => node('device', d === 0 ? { id: '0' } : { id: String(d), 'key-index': String(d) })),
            ),
          ]),
        );
      } else if (p === 'lid') {
        parts.push(info?.exists ? node('lid', { val: `${info.lid}@lid` }) : node('lid', {}));
      } else if (p === 'contact') {
        parts.push(node('contact', { type: info?.exists ? 'in' : 'out' }));
      } else {
        parts.push(ctx.usyncPart?.(p, info) ?? node(p, {}));
      }
    }
    users.push(node('user', { jid }, parts));
  }
  if (protocols.includes('devices')) ctx.countDeviceQuery?.(users.length);
  return iqResult(iq, [
    node('usync', { sid: usync?.attrs.sid, index: '0', last: 'true', mode: usync?.attrs.mode, context: usync?.attrs.context }, [
      node(
        'result',
        {},
        protocols.map((p) => node(p, {})),
      ),
      node('list', {}, users),
    ]),
  ]);
}

/** Returns the answer to a client IQ of type get/set. */
export function answerIq(ctx: IqContext, conn: ClientConnection, iq: BinaryNode): BinaryNode {
  const xmlns = iq.attrs.xmlns;
  const first = children(iq)[0];
  const profile = ctx.answerProfileIq?.(conn, iq);
  if (profile) return profile;
  switch (xmlns) {
    case 'encrypt':
      return answerEncrypt(ctx, conn, iq);
    case 'passive':
      // the server follows this answer with offline messages and <ib><offline/>: see EmulatorServer.afterPassive
      return iqResult(iq);
    case 'usync':
      return answerUsync(ctx, iq);
    case 'w:p':
      return iqResult(iq);
    case 'abt':
      return iqResult(iq, [node('props', { protocol: '1', hash: 'emulator' })]);
    case 'blocklist':
      return iqResult(iq, [node('list', {})]);
    case 'privacy':
      if (iq.attrs.type === 'get') {
        const cats = ['last', 'online', 'profile', 'status', 'readreceipts', 'groupadd', 'calladd', 'messages'];
        return iqResult(iq, [
          node(
            'privacy',
            {},
            cats.map((name) => node('category', { name, value: 'all' })),
          ),
        ]);
      }
      return iqResult(iq);
    case 'w:sync:app:state': {
      // empty collections at the requested version: accepted as "nothing to sync"
      const cols = children(child(iq, 'sync')).filter((c) => c.tag === 'collection');
      return iqResult(iq, [
        node(
          'sync',
          {},
          cols.map((c) => node('collection', { name: c.attrs.name, version: c.attrs.version ?? '0' })),
        ),
      ]);
    }
    case 'w:m':
      if (first?.tag === 'media_conn') return iqResult(iq, [ctx.mediaConn()]);
      ctx.countUnknown(iq);
      return iqResult(iq);
    case 'md':
      if (first?.tag === 'link_code_companion_reg') return ctx.onLinkCodeCompanionReg(conn, iq);
      if (first?.tag === 'remove-companion-device') {
        ctx.onRemoveCompanion(conn, iq);
        return iqResult(iq);
      }
      ctx.countUnknown(iq);
      return iqResult(iq);
    default:
      ctx.countUnknown(iq);
      return iqResult(iq);
  }
}
