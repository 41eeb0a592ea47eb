/**
 * The emulated WhatsApp Web server: a WebSocket endpoint speaking Noise + binary
 * nodes, the account/phone side of QR and pairing-code linking, login to
 * 'open' with the first-login history bootstrap, faults, and (via messaging.ts)
 * Signal-encrypted messages between linked accounts and emulated contacts.
 */
import { EventEmitter } from 'node:events';
import { Curve, normalizeMessageContent } from '@whiskeysockets/baileys';
import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import { WebSocketServer } from 'ws';
import type { Account, CompanionDevice } from './accounts.js';
import { AccountStore, normalizePhone } from './accounts.js';
import type { ConnectionHost, PendingRegistration } from './connection.js';
import { ClientConnection, failure, streamError } from './connection.js';
import { bytes, child, children, iqResult, node, S_WHATSAPP_NET, serverId, unixNow } from './frames.js';
import type { IqContext, UsyncUserInfo } from './iq-handlers.js';
import { answerIq } from './iq-handlers.js';
import { MediaHost } from './media-host.js';
import { GroupStore } from './groups.js';
import { answerGroupIq } from './group-send.js';
import { GroupAdmin } from './group-admin.js';
import { GroupNotify } from './group-notify.js';
import { decryptMedia, type MediaKind } from './media-crypto.js';
import { Delivery } from './delivery.js';
import { ContactRetries } from './contact-retry.js';
import { Calls, type CallReject } from './calls.js';
import { Messaging, type OutgoingMedia } from './messaging.js';
import { pollVoteMessage } from './poll-votes.js';
import type { KeyPair } from './noise.js';
import { makeCertChain, NoiseResponder } from './noise.js';
import { bootstrapMessages, phonePeerStanza } from './phone.js';
import { historyNotifications, type PhoneHistory } from './phone-history.js';
import { buildPairSuccess, makeRef, openKeyBundle, parseQr, qrPrefix, unwrapEphemeral, verifyPairDeviceSign, wrapEphemeral } from './registration.js';
import type { PreKeyBundle } from './signal-device.js';
import { ContactStore } from './signal-contacts.js';
import { Profiles, type AccountProfile, type ContactPresenceState, type ContactProfileSettings } from './profiles.js';
import type { Emulator, EmulatorOptions, EmulatorState, FaultKind, GroupState, ReceivedMessage, SendResult } from './types.js';

/** Resolves when `find()` returns something, re-checking whenever `emitter` emits `event`. */
function waitUntil<T>(emitter: EventEmitter, event: string, find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const v = find();
      if (v === undefined) return;
      clearTimeout(timer);
      emitter.off(event, check);
      resolve(v);
    };
    const timer = setTimeout(() => {
      emitter.off(event, check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, check);
    check();
  });
}

export class EmulatorServer implements Emulator, ConnectionHost, IqContext {
  readonly accounts = new AccountStore();
  readonly groups = new GroupStore();
  /** Group administration IQs: create, subject, participants, invites... (group-admin.ts) */
  readonly groupAdmin = new GroupAdmin(this);
  /** What contacts do to groups, pushed as w:gp2 notifications (group-notify.ts). */
  readonly groupNotify: GroupNotify = new GroupNotify(this);
  readonly contacts = new ContactStore();
  readonly rootPublicKey: Uint8Array;
  readonly rootPublicKeyHex: string;
  readonly skipPrekeyUpload: boolean;
  private readonly serverStatic: KeyPair = Curve.generateKeyPair();
  private readonly certChain: Uint8Array;
  private readonly conns = new Set<ClientConnection>();
  private readonly events = new EventEmitter();
  /** QR prefixes not yet handed to waitForQr, with the registering connection that shows them */
  private readonly qrQueue: Array<{ qr: string; conn: ClientConnection }> = [];
  private latestQr: string | undefined;
  private unknownIqs = 0;
  /** usync device queries answered (and the users they listed): the bench compares what group sends cost */
  readonly deviceQueries = { queries: 0, users: 0 };
  private delayMs: number;
  private wss: WebSocketServer | undefined;
  private port = 0;
  private readonly messaging: Messaging;
  /** messages held for companion devices until they acknowledge them (redelivered otherwise) */
  readonly delivery: Delivery;
  /** retry receipts of contacts that could not decrypt a device's message, until the device acks them */
  readonly contactRetries: ContactRetries;
  /** WhatsApp's media servers: uploads from clients, files of media messages from contacts. */
  readonly media: MediaHost;
  /** calls from contacts to accounts, and the rejects devices send (calls.ts) */
  private readonly calls = new Calls({
    contacts: this.contacts,
    connectionsOf: (phone) => this.connectionsOf(phone),
    changed: () => this.events.emit('change'),
  });
  /** Contacts' presence and profiles, the accounts' own profiles and block lists. */
  readonly profiles = new Profiles(this.contacts, () => this.events.emit('change'));
  /** what each account's phone sends a newly linked device (phone-history.ts), by phone digits */
  private readonly phoneHistories = new Map<string, PhoneHistory>();

  constructor(private readonly opts: EmulatorOptions = {}) {
    const root = opts.rootKeyPair ?? Curve.generateKeyPair();
    this.rootPublicKey = Buffer.from(root.public);
    this.rootPublicKeyHex = Buffer.from(root.public).toString('hex');
    this.certChain = makeCertChain({ public: root.public, private: root.private }, this.serverStatic.public);
    this.skipPrekeyUpload = opts.skipPrekeyUpload ?? false;
    this.delayMs = opts.responseDelayMs ?? 0;
    this.events.setMaxListeners(0);
    this.messaging = new Messaging(this);
    this.delivery = new Delivery(this);
    this.contactRetries = new ContactRetries(this);
    this.media = new MediaHost(opts.host ?? '127.0.0.1', (msg, extra) => this.log(msg, extra));
  }

  async listen(): Promise<void> {
    await this.media.start();
    const wss = new WebSocketServer({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port ?? 0, path: '/ws/chat' });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const addr = wss.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    wss.on('connection', (ws, req) => {
      this.clientAddresses.push(req.socket.remoteAddress ?? '');
      const conn = new ClientConnection(ws, this);
      this.conns.add(conn);
      this.events.emit('change');
    });
  }

  get url(): string {
    return `ws://${this.opts.host ?? '127.0.0.1'}:${this.port}/ws/chat`;
  }

  get unknownIqCount(): number {
    return this.unknownIqs;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Open connections that are logged in as `phone` (or all logged-in/registering ones when omitted). */
  connectionsOf(phone?: string): ClientConnection[] {
    const digits = phone === undefined ? undefined : normalizePhone(phone);
    return [...this.conns].filter((c) => c.isOpen && (digits === undefined || c.account?.phone === digits));
  }

  // ---- ConnectionHost ----

  readonly responder = (): NoiseResponder => new NoiseResponder(this.serverStatic, this.certChain);

  responseDelayMs(): number {
    return this.delayMs;
  }

  log(msg: string, extra?: unknown): void {
    if (this.opts.log) this.opts.log(msg, extra);
    else if (process.env.EMULATOR_DEBUG) console.error(`[wa-emulator] ${msg}`, extra ?? '');
  }

  onClose(conn: ClientConnection): void {
    this.conns.delete(conn);
    const { account, device } = conn;
    // a removed device (logout) or a forgotten account drops what it had not acknowledged
    const linked = !!account && !!device && this.accounts.get(account.phone) === account && account.devices.get(device.deviceId) === device;
    this.delivery.onClose(conn, linked);
    this.contactRetries.onClose(conn, linked);
    this.profiles.onClose(conn);
    this.events.emit('change');
  }

  onRegistration(conn: ClientConnection, reg: PendingRegistration): void {
    const count = Math.max(1, this.opts.qrRefs ?? 6);
    reg.refs = Array.from({ length: count }, makeRef);
    reg.refsIssuedAt = Date.now();
    const iq = node('iq', { from: S_WHATSAPP_NET, type: 'set', id: serverId('qr'), xmlns: 'md' }, [
      node(
        'pair-device',
        {},
        reg.refs.map((r) => node('ref', {}, Buffer.from(r, 'utf8'))),
      ),
    ]);
    // the client emits its first QR right after answering this IQ
    conn
      .sendIq(iq)
      .then(() => {
        const first = reg.refs[0];
        if (!first) return;
        const qr = qrPrefix(first, reg.noiseKey, reg.identityKey);
        this.latestQr = qr;
        this.qrQueue.push({ qr, conn });
        this.events.emit('qr');
      })
      .catch((err: unknown) => this.log(`conn ${conn.id}: pair-device not answered`, err));
  }

  onLogin(conn: ClientConnection, payload: proto.ClientPayload, clientStatic: Buffer): void {
    const phone = payload.username ? String(payload.username) : '';
    const deviceId = payload.device ?? 0;
    const account = phone ? this.accounts.get(phone) : undefined;
    const device = account?.devices.get(deviceId);
    if (!account || !device || !device.noiseKey.equals(clientStatic)) {
      this.log(`conn ${conn.id}: login for unknown ${phone}:${deviceId}, 401`);
      void conn.sendFatal(failure('401'));
      return;
    }
    if (account.banned) {
      void conn.sendFatal(failure('403'));
      return;
    }
    // a newer login of the same device replaces the older connection
    let replaced = false;
    for (const other of this.conns) {
      if (other !== conn && other.isOpen && other.device === device) {
        replaced = true;
        void other.sendFatal(streamError(undefined, node('conflict', { type: 'replaced' })));
      }
    }
    if (replaced) account.loginConflicts += 1;
    conn.account = account;
    conn.device = device;
    // the replaced connection is still open here: two workers on one account show up as 2
    account.maxConcurrentConnections = Math.max(account.maxConcurrentConnections, this.connectionsOf(account.phone).length);
    conn.send(
      node('success', {
        t: unixNow(),
        lid: `${account.lid}:${deviceId}@lid`,
        props: '1',
        location: 'emu',
        creation: unixNow(),
      }),
    );
    this.events.emit('change');
  }

  async onNode(conn: ClientConnection, stanza: BinaryNode): Promise<void> {
    switch (stanza.tag) {
      case 'iq': {
        if (stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set') return;
        const answer = answerIq(this, conn, stanza);
        conn.send(answer);
        if (stanza.attrs.xmlns === 'passive' && child(stanza, 'active')) await this.afterPassive(conn);
        return;
      }
      case 'message':
        await this.messaging.onClientMessage(conn, stanza);
        return;
      case 'receipt':
        this.observeRead(conn, stanza);
        await this.messaging.onClientReceipt(conn, stanza);
        this.events.emit('change'); // `unacked` may have dropped: `until` re-checks
        return;
      case 'chatstate':
        this.observeChatState(conn, stanza);
        return;
      case 'presence':
        this.observePresence(conn, stanza);
        this.profiles.onPresence(conn, stanza);
        return;
      case 'call':
        this.calls.onClientCall(conn, stanza);
        return;
      case 'ack':
        this.delivery.onAck(conn, stanza);
        this.contactRetries.onAck(conn, stanza);
        return;
      default:
        // ib (unified_session)...: nothing to answer
        return;
    }
  }

  /** The contact a client stanza is addressed to, by PN or LID (device part ignored). */
  private contactAt(to: string | undefined): ReturnType<ContactStore['get']> {
    if (!to) return undefined;
    const [user = '', server] = to.split('@');
    const bare = user.split(':')[0] ?? '';
    if (server === 's.whatsapp.net') return this.contacts.get(bare);
    if (server === 'lid') return this.contacts.byLid(bare);
    return undefined;
  }

  /** A read receipt from a linked device for a contact's messages: the contact sees them read. */
  private observeRead(conn: ClientConnection, receipt: BinaryNode): void {
    if (receipt.attrs.type !== 'read' || !conn.account) return;
    const ids = [receipt.attrs.id, ...children(child(receipt, 'list')).map((item) => item.attrs.id)];
    if (receipt.attrs.to?.endsWith('@g.us')) return this.observeGroupRead(receipt, ids);
    const contact = this.contactAt(receipt.attrs.to);
    if (!contact) return;
    for (const id of ids) if (id && !contact.readIds.includes(id)) contact.readIds.push(id);
    this.events.emit('change');
  }

  /**
   * A read receipt in a group (`<receipt to=group participant=sender type="read">`): recorded per group with the
   * sender it names (the contact's phone when `participant` is a known contact's PN or LID, else as sent).
   */
  private observeGroupRead(receipt: BinaryNode, ids: Array<string | undefined>): void {
    const group = this.groups.get(receipt.attrs.to ?? '');
    if (!group) return;
    const participant = receipt.attrs.participant ?? '';
    const sender = this.contactAt(participant)?.phone ?? participant;
    for (const id of ids) if (id && !group.reads.some((r) => r.id === id && r.sender === sender)) group.reads.push({ id, sender });
    this.events.emit('change');
  }

  /** `<chatstate to=contact><composing/></chatstate>` (or recording: `<composing media="audio"/>`, paused). */
  private observeChatState(conn: ClientConnection, stanza: BinaryNode): void {
    if (!conn.account) return;
    const contact = this.contactAt(stanza.attrs.to);
    const [first] = children(stanza);
    if (!contact || !first) return;
    const state = first.tag === 'composing' && first.attrs.media === 'audio' ? 'recording' : first.tag;
    contact.chatStates.push({ from: conn.account.phone, state });
    this.events.emit('change');
  }

  /** `<presence type="available|unavailable" name=…/>` from a client: the account's presence (one without a type only announces the name). */
  private observePresence(conn: ClientConnection, stanza: BinaryNode): void {
    const type = stanza.attrs.type;
    if (!conn.account || (type !== 'available' && type !== 'unavailable')) return;
    conn.account.presence = type;
    this.events.emit('change');
  }

  /** A device acknowledged messages (delivery.ts), a contact received one (messaging.ts): `until` re-checks. */
  changed(): void {
    this.events.emit('change');
  }

  readBy(contactPhone: string): string[] {
    return [...(this.contacts.get(contactPhone)?.readIds ?? [])];
  }

  groupReads(groupJid: string): Array<{ id: string; sender: string }> {
    return (this.groups.get(groupJid)?.reads ?? []).map((r) => ({ ...r }));
  }

  chatStates(contactPhone: string): Array<{ from: string; state: string }> {
    return [...(this.contacts.get(contactPhone)?.chatStates ?? [])];
  }

  call(fromContactPhone: string, toAccountPhone: string, opts: { video?: boolean } = {}): { callId: string; rang: number } {
    return this.calls.call(fromContactPhone, toAccountPhone, opts);
  }

  endCall(fromContactPhone: string, toAccountPhone: string, callId: string, reason: 'timeout' | 'terminate' = 'terminate'): number {
    return this.calls.end(fromContactPhone, toAccountPhone, callId, reason);
  }

  callRejects(contactPhone: string): CallReject[] {
    return this.calls.rejectsOf(contactPhone);
  }

  until<T>(find: () => T | undefined, opts: { timeoutMs?: number; what?: string } = {}): Promise<T> {
    return waitUntil(this.events, 'change', find, opts.timeoutMs ?? 10_000, opts.what ?? 'a condition');
  }

  /**
   * After <passive><active/>: unacknowledged messages of earlier connections and queued offline
   * stanzas, retry receipts of contacts the device has not acknowledged, then <ib><offline/>, then
   * the phone's first-login bootstrap.
   */
  private async afterPassive(conn: ClientConnection): Promise<void> {
    const { account, device } = conn;
    if (!account || !device) return;
    const count = (await this.delivery.replay(conn, account, device)) + this.contactRetries.replay(conn, device);
    conn.send(node('ib', { from: S_WHATSAPP_NET }, [node('offline', { count: String(count) })]));
    if (!device.bootstrapped) {
      device.bootstrapped = true;
      void this.sendBootstrap(conn, account, device);
    }
  }

  private async sendBootstrap(conn: ClientConnection, account: Account, device: CompanionDevice): Promise<void> {
    try {
      const [keyShare, emptyHistory] = bootstrapMessages(account);
      conn.send(await phonePeerStanza(account, device, keyShare!));
      const history = this.phoneHistories.get(account.phone);
      if (!history) {
        conn.send(await phonePeerStanza(account, device, emptyHistory!));
        return;
      }
      // kept until the device receipts each chunk, redelivered otherwise (same id and t, encrypted anew)
      for (const msg of historyNotifications(history)) {
        const ids = { id: serverId('3EB0'), t: unixNow() };
        const stanza = (fresh?: PreKeyBundle) => phonePeerStanza(account, device, msg, ids, fresh);
        this.delivery.deliver(account, device, await stanza(), stanza);
      }
    } catch (err) {
      device.bootstrapped = false;
      this.log(`conn ${conn.id}: history bootstrap failed`, err);
    }
  }

  // ---- IqContext ----

  mediaConn(): BinaryNode {
    return node('media_conn', { auth: this.media.auth, ttl: '3600', auth_ttl: '3600', max_buckets: '12' }, [
      node('host', { hostname: this.media.hostname, maxContentLengthBytes: String(100 * 1024 * 1024) }),
    ]);
  }

  lookupUser(user: string, server: string): UsyncUserInfo | undefined {
    const account = server === 'lid' ? this.accounts.byLid(user) : this.accounts.get(user);
    if (account) {
      return { exists: true, pn: account.phone, lid: account.lid, devices: [0, ...account.devices.keys()] };
    }
    const contact = server === 'lid' ? this.contacts.byLid(user) : this.contacts.get(user);
    if (contact) return { exists: true, pn: contact.phone, lid: contact.lid, devices: [0] };
    return undefined;
  }

  fetchBundle(jid: string, requester?: ClientConnection): PreKeyBundle | undefined {
    return this.messaging.fetchBundle(jid, requester);
  }

  onLinkCodeCompanionReg(conn: ClientConnection, iq: BinaryNode): BinaryNode {
    const reg = child(iq, 'link_code_companion_reg');
    const stage = reg?.attrs.stage;
    if (stage === 'companion_hello') {
      const wrapped = bytes(child(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub'));
      const phone = (reg?.attrs.jid ?? '').split('@')[0]?.split(':')[0] ?? '';
      if (!wrapped || !phone)
        return node('iq', { from: S_WHATSAPP_NET, type: 'error', id: iq.attrs.id }, [node('error', { code: '400', text: 'bad-request' })]);
      const ref = makeRef();
      conn.pairingHello = { phone: normalizePhone(phone), wrappedEphemeral: wrapped, ref };
      this.events.emit('pairing-hello');
      return iqResult(iq, [node('link_code_companion_reg', {}, [node('link_code_pairing_ref', {}, Buffer.from(ref))])]);
    }
    if (stage === 'companion_finish') {
      conn.emit('companion-finish', iq);
      return iqResult(iq);
    }
    this.countUnknown(iq);
    return iqResult(iq);
  }

  onRemoveCompanion(conn: ClientConnection): void {
    // client-initiated logout: the device is no longer linked
    if (conn.account && conn.device) conn.account.devices.delete(conn.device.deviceId);
  }

  answerProfileIq(conn: ClientConnection, iq: BinaryNode): BinaryNode | undefined {
    // group-admin first: a `w:profile:picture` set whose target is a group is a group's picture, not a profile's
    return this.groupAdmin.answerIq(conn, iq) ?? this.profiles.answerIq(conn, iq) ?? answerGroupIq(this, conn, iq);
  }

  usyncPart(protocol: string, user: UsyncUserInfo | undefined): BinaryNode | undefined {
    return this.profiles.usyncPart(protocol, user);
  }

  countDeviceQuery(users: number): void {
    this.deviceQueries.queries += 1;
    this.deviceQueries.users += users;
  }

  countUnknown(iq: BinaryNode): void {
    this.unknownIqs += 1;
    this.log(`unknown iq xmlns=${iq.attrs.xmlns} type=${iq.attrs.type} child=${Array.isArray(iq.content) ? iq.content[0]?.tag : ''}`);
  }

  // ---- linking ----

  async waitForQr(opts: { timeoutMs?: number } = {}): Promise<string> {
    const next = (): string | undefined => {
      // skip QRs whose client went away or got linked meanwhile
      for (let e = this.qrQueue.shift(); e; e = this.qrQueue.shift()) if (e.conn.isOpen && e.conn.registration) return e.qr;
      return undefined;
    };
    return waitUntil(this.events, 'qr', next, opts.timeoutMs ?? 30_000, 'a QR');
  }

  async scanQr(qr: string, opts: { phoneNumber: string; businessName?: string }): Promise<{ jid: string; lid: string }> {
    const parsed = parseQr(qr);
    const conn = [...this.conns].find((c) => c.isOpen && c.registration?.refs.includes(parsed.ref));
    if (!conn?.registration) throw new Error('no connected client is showing this QR (unknown ref, or its client went away)');
    const reg = conn.registration;
    const ttl = this.opts.qrFirstTtlMs;
    if (ttl !== undefined && Date.now() - reg.refsIssuedAt > ttl * reg.refs.length) throw new Error('QR ref expired');
    if (!reg.noiseKey.equals(parsed.noiseKey) || !reg.identityKey.equals(parsed.identityKey)) {
      throw new Error('QR keys do not match the registering client');
    }
    return this.completeLink(conn, normalizePhone(opts.phoneNumber), parsed.advSecret, opts.businessName);
  }

  async confirmPairingCode(phoneNumber: string, code: string, opts: { timeoutMs?: number } = {}): Promise<{ jid: string; lid: string }> {
    const phone = normalizePhone(phoneNumber);
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const conn = await waitUntil(
      this.events,
      'pairing-hello',
      () => [...this.conns].find((c) => c.isOpen && c.registration && c.pairingHello?.phone === phone),
      timeoutMs,
      `a pairing-code request for ${phone}`,
    );
    const hello = conn.pairingHello;
    const reg = conn.registration;
    if (!hello || !reg) throw new Error('pairing state vanished');
    const account = this.accounts.getOrCreate(phone);
    const companionEphemeral = await unwrapEphemeral(hello.wrappedEphemeral, code);
    const primaryEphemeral = Curve.generateKeyPair();
    const wrappedPrimary = await wrapEphemeral(primaryEphemeral.public, code);
    const finished = new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('client did not send companion_finish')), timeoutMs);
      conn.once('companion-finish', (iq: BinaryNode) => {
        clearTimeout(timer);
        resolve(iq);
      });
      conn.once('closed', () => {
        clearTimeout(timer);
        reject(new Error('client disconnected during pairing'));
      });
    });
    conn.send(
      node('notification', { from: S_WHATSAPP_NET, id: serverId('lc'), type: 'link_code_companion_reg', t: unixNow() }, [
        node('link_code_companion_reg', { stage: 'primary_hello' }, [
          node('link_code_pairing_wrapped_primary_ephemeral_pub', {}, wrappedPrimary),
          node('primary_identity_pub', {}, account.phoneDevice.identityPublic),
          node('link_code_pairing_ref', {}, Buffer.from(hello.ref)),
        ]),
      ]),
    );
    const finishIq = await finished;
    const bundle = bytes(child(child(finishIq, 'link_code_companion_reg'), 'link_code_pairing_wrapped_key_bundle'));
    if (!bundle) throw new Error('companion_finish without a key bundle');
    let opened: { companionIdentity: Buffer; advSecret: Buffer };
    try {
      opened = openKeyBundle({
        wrappedBundle: bundle,
        primaryEphemeral,
        companionEphemeralPublic: companionEphemeral,
        primaryIdentity: account.phoneDevice.identityRaw,
      });
    } catch {
      throw new Error('pairing code does not match the one the client generated');
    }
    if (!opened.companionIdentity.equals(reg.identityKey)) throw new Error('key bundle identity differs from the registration');
    return this.completeLink(conn, phone, opened.advSecret);
  }

  /** pair-success -> verify pair-device-sign -> remember the device -> stream:error 515. */
  private async completeLink(conn: ClientConnection, phone: string, advSecret: Buffer, businessName?: string): Promise<{ jid: string; lid: string }> {
    const reg = conn.registration;
    if (!reg) throw new Error('connection is not registering');
    const account = this.accounts.getOrCreate(phone);
    const deviceId = account.nextDeviceId++;
    const accountKey = account.phoneDevice.identityRaw;
    const { stanza, deviceDetails } = buildPairSuccess({
      phone,
      lid: account.lid,
      deviceId,
      advSecret,
      accountKey,
      companionIdentity: reg.identityKey,
      businessName,
    });
    const reply = await conn.sendIq(stanza);
    if (reply.attrs.type !== 'result') throw new Error('client rejected pair-success');
    const verdict = verifyPairDeviceSign(reply, { deviceDetails, companionIdentity: reg.identityKey, accountKey: accountKey.public });
    if (!verdict.ok) {
      void conn.sendFatal(failure('401'));
      throw new Error(`pair-device-sign rejected: ${verdict.reason}`);
    }
    account.devices.set(deviceId, {
      deviceId,
      noiseKey: reg.noiseKey,
      identityKey: reg.identityKey,
      registrationId: reg.registrationId,
      signedPreKey: reg.signedPreKey,
      preKeys: new Map(),
      bootstrapped: false,
      offlineQueue: [],
    });
    conn.registration = undefined;
    conn.pairingHello = undefined;
    this.events.emit('change');
    // the client restarts and comes back with a LOGIN payload
    void conn.sendFatal(streamError('515'));
    return { jid: `${phone}:${deviceId}@s.whatsapp.net`, lid: `${account.lid}:${deviceId}@lid` };
  }

  // ---- faults ----

  async fault(kind: FaultKind, phoneNumber?: string): Promise<void> {
    const targets = this.connectionsOf(phoneNumber);
    const account = phoneNumber === undefined ? undefined : this.accounts.get(phoneNumber);
    if (kind === 'forbidden403' && account) account.banned = true;
    if (kind === 'logout401') {
      const loggedIn = targets.filter((c) => c.device);
      for (const c of loggedIn) c.account?.devices.delete(c.device?.deviceId ?? -1);
      if (account && loggedIn.length === 0) account.devices.clear();
    }
    const stanza = ((): BinaryNode | undefined => {
      switch (kind) {
        case 'drop':
          return undefined;
        case 'restart515':
          return streamError('515');
        case 'logout401':
          return streamError('401', node('conflict', { type: 'device_removed' }));
        case 'conflict440':
          return streamError(undefined, node('conflict', { type: 'replaced' }));
        case 'forbidden403':
          return failure('403');
        case 'unavailable503':
          return streamError('503');
      }
    })();
    await Promise.all(
      targets.map(async (c) => {
        if (stanza) await c.sendFatal(stanza);
        else c.terminate();
      }),
    );
  }

  setResponseDelay(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  unban(phoneNumber: string): void {
    const acc = this.accounts.get(phoneNumber);
    if (acc) acc.banned = false;
  }

  forgetAccounts(): void {
    this.accounts.clear();
    for (const c of [...this.conns]) if (c.account) c.terminate();
  }

  // ---- messaging (phase 2) ----

  setPhoneHistory(accountPhone: string, history: PhoneHistory): void {
    this.phoneHistories.set(normalizePhone(accountPhone), history);
  }

  addContact(phoneNumber: string): { jid: string; lid: string } {
    const c = this.contacts.add(phoneNumber);
    return { jid: c.pnJid, lid: c.lidJid };
  }

  receivedBy(contactPhone: string): ReceivedMessage[] {
    return [...(this.contacts.get(contactPhone)?.received ?? [])];
  }

  waitForMessage(contactPhone: string, opts: { timeoutMs?: number } = {}): Promise<ReceivedMessage> {
    const c = this.contacts.get(contactPhone);
    if (!c) return Promise.reject(new Error(`unknown contact ${contactPhone}`));
    return c.next(opts.timeoutMs ?? 20_000);
  }

  sendMessage(fromContactPhone: string, toAccountPhone: string, message: proto.IMessage | string): Promise<SendResult> {
    const msg: proto.IMessage = typeof message === 'string' ? { conversation: message } : message;
    return this.messaging.sendFromContact(fromContactPhone, toAccountPhone, msg);
  }

  /** The contact votes on a poll it received (`poll`, from the contact's `receivedBy`): encrypted with the poll's secret. */
  sendPollVote(fromContactPhone: string, poll: ReceivedMessage, selectedOptions: readonly string[]): Promise<SendResult> {
    const vote = pollVoteMessage(poll, normalizePhone(fromContactPhone), selectedOptions);
    // a poll sent to a group is voted on in the group
    if (poll.group) return this.messaging.sendGroupFromContact(normalizePhone(fromContactPhone), poll.group, vote);
    return this.messaging.sendFromContact(fromContactPhone, poll.from, vote);
  }

  createGroup(subject: string, memberPhones: string[], opts: { admins?: string[] } = {}): { jid: string } {
    const members = memberPhones.map((p) => normalizePhone(p));
    for (const p of members) if (!this.accounts.get(p) && !this.contacts.get(p)) this.contacts.add(p);
    return {
      jid: this.groups.create(
        subject,
        members,
        (opts.admins ?? []).map((p) => normalizePhone(p)),
      ).jid,
    };
  }

  /** A contact whose privacy settings refuse being added to groups: create/add answer 403 with an invite code. */
  refuseGroupAdds(contactPhone: string): void {
    this.groupAdmin.refusingAdds.add(normalizePhone(contactPhone));
  }

  /** The contact asks to join the group (a membership request its admins list, approve or reject). */
  requestToJoinGroup(groupJid: string, contactPhone: string): void {
    const group = this.groups.get(groupJid);
    if (!group) throw new Error(`no group ${groupJid}`);
    const phone = normalizePhone(contactPhone);
    if (!this.accounts.get(phone) && !this.contacts.get(phone)) this.contacts.add(phone);
    this.groupAdmin.settingsOf(group).requests.set(phone, Math.floor(Date.now() / 1000));
  }

  /** A group's state for assertions: members, admins (phone digits), subject and settings. */
  groupState(groupJid: string): GroupState | undefined {
    const group = this.groups.get(groupJid);
    if (!group) return undefined;
    const s = this.groupAdmin.settingsOf(group);
    return {
      subject: group.subject,
      members: [...group.members],
      admins: [group.creator, ...group.admins].filter((p, i, all) => group.members.has(p) && all.indexOf(p) === i),
      description: s.description?.text,
      announce: s.announce,
      locked: s.locked,
      ephemeral: s.ephemeral,
      inviteCode: s.inviteCode,
      requests: [...s.requests.keys()],
      pictureBytes: s.picture?.length ?? 0,
    };
  }

  /** group-admin.ts changed a group: wakes `until` waiters. */
  groupAdminChanged(): void {
    this.events.emit('change');
  }

  sendGroupMessage(fromContactPhone: string, groupJid: string, message: proto.IMessage | string): Promise<SendResult> {
    const msg: proto.IMessage = typeof message === 'string' ? { conversation: message } : message;
    return this.messaging.sendGroupFromContact(normalizePhone(fromContactPhone), groupJid, msg);
  }

  // ---- presence and profiles (profiles.ts) ----

  contactPresence(contactPhone: string, state: ContactPresenceState, opts?: { lastSeen?: number }): number {
    return this.profiles.contactPresence(contactPhone, state, opts);
  }

  setContactProfile(contactPhone: string, settings: ContactProfileSettings): void {
    this.profiles.setContactProfile(contactPhone, settings);
  }

  accountProfile(accountPhone: string): AccountProfile {
    return this.profiles.accountProfile(accountPhone);
  }

  get mediaCa(): string {
    return this.media.ca;
  }

  /** The remote address of every WebSocket accepted, in order (who connected: a proxy, or a client directly). */
  readonly clientAddresses: string[] = [];

  /** The same for the media host's TLS connections. */
  get mediaClientAddresses(): readonly string[] {
    return this.media.clientAddresses;
  }

  get mediaStats(): { uploads: number; downloads: number } {
    return { uploads: this.media.uploads, downloads: this.media.downloads };
  }

  sendMedia(fromContactPhone: string, toAccountPhone: string, media: OutgoingMedia): Promise<SendResult> {
    return this.messaging.sendMediaFromContact(fromContactPhone, toAccountPhone, media);
  }

  async mediaOf(message: proto.IMessage): Promise<Buffer> {
    const content = normalizeMessageContent(message);
    for (const kind of ['image', 'video', 'audio', 'document', 'sticker'] as MediaKind[]) {
      const m = content?.[`${kind}Message`];
      if (!m) continue;
      if (!m.mediaKey) throw new Error(`${kind} message without a media key`);
      const path = m.directPath ?? (m.url ? new URL(m.url).pathname : undefined);
      const file = path ? this.media.get(path) : undefined;
      if (!file) throw new Error(`the media host has no file at ${path ?? '(no path)'}`);
      return decryptMedia(file, m.mediaKey, kind);
    }
    throw new Error('not a media message');
  }

  /** waits until no client socket is open (handy after faults) */
  waitForConnectionCount(n: number, timeoutMs = 10_000): Promise<true> {
    return waitUntil(this.events, 'change', () => (this.conns.size === n ? true : undefined), timeoutMs, `${n} open connections`);
  }

  state(): EmulatorState {
    return {
      url: this.url,
      rootPublicKeyHex: this.rootPublicKeyHex,
      connectionCount: this.connectionCount,
      unknownIqCount: this.unknownIqs,
      responseDelayMs: this.delayMs,
      latestQr: this.latestQr,
      accounts: this.accounts.all().map((a) => ({
        phone: a.phone,
        lid: a.lid,
        banned: a.banned,
        devices: [...a.devices.keys()],
        queued: [...a.devices.values()].reduce((n, d) => n + d.offlineQueue.length, 0),
        unacked: [...a.devices.values()].reduce((n, d) => n + this.delivery.unackedOf(d).size, 0),
        redelivered: a.redelivered,
        maxConcurrentConnections: a.maxConcurrentConnections,
        loginConflicts: a.loginConflicts,
        duplicateSends: a.duplicateSends,
        presence: a.presence,
      })),
      contacts: this.contacts.all().map((c) => ({
        phone: c.phone,
        lid: c.lid,
        received: c.received.length,
        retryReceiptsSent: c.retryReceiptsSent,
        undecryptable: c.undecryptable,
        read: c.readIds.length,
      })),
      connections: [...this.conns].map((c) => ({
        id: c.id,
        ...(c.account ? { phone: c.account.phone } : {}),
        ...(c.device ? { device: c.device.deviceId } : {}),
        registering: !!c.registration,
      })),
    };
  }

  async close(): Promise<void> {
    await this.media.close();
    for (const c of [...this.conns]) c.terminate();
    const wss = this.wss;
    this.wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<EmulatorServer> {
  const server = new EmulatorServer(opts);
  await server.listen();
  return server;
}
