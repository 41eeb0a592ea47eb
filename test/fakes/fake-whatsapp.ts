import type { AuthStateHandle } from '../../src/storage/types.js';
import type { SessionSettings } from '../../src/util/session-settings.js';
import type {
  IncomingCall,
  ContactPresence,
  ContactProfile,
  IncomingMessage,
  IncomingUpdateContent,
  MessageReceipt,
  NumberCheck,
  OutgoingContent,
  PresenceUpdate,
  ReadKey,
  SendOptions,
  WhatsAppConnection,
  WhatsAppConnector,
  WhatsAppEvent,
} from '../../src/whatsapp/types.js';
import { FakeGroups } from './fake-groups.js';

export interface FakeSend {
  jid: string;
  content: OutgoingContent;
  opts: SendOptions;
}

/** One fake socket: the test drives it by emitting what WhatsApp would. */
export class FakeSocket implements WhatsAppConnection {
  ended = false;
  loggedOut = false;
  pairingRequests: string[] = [];
  /** Every message handed to WhatsApp, in order. */
  readonly sends: FakeSend[] = [];
  /** Phone JIDs the fake WhatsApp says are not registered. */
  readonly unregistered = new Set<string>();
  /** Ids of incoming messages the session acknowledged (the receipts WhatsApp got), in order. */
  readonly acknowledged: string[] = [];
  /** LIDs the fake WhatsApp tells for registered phone JIDs (`…@lid`). */
  readonly lids = new Map<string, string>();
  /** Every checkNumbers query, in order (one entry per query: the JIDs asked). */
  readonly numberChecks: string[][] = [];
  /** Every markRead, in order: the chat JID and the ids (and, when any message names one, each id's sender). */
  readonly reads: Array<{ jid: string; messageIds: string[]; participants?: Record<string, string> }> = [];
  /** Every sendPresence, in order. */
  readonly presences: Array<{ state: PresenceUpdate; jid?: string }> = [];
  /** Every rejectCall, in order. */
  readonly callRejects: Array<{ callId: string; callerJid: string }> = [];
  /** Ids of incoming messages the session marked read on its own (auto-read), in order. */
  readonly autoReads: string[] = [];
  /** Make the next rejectCall reject with this error. */
  failNextReject: Error | undefined;
  /** Every editMessage, in order: the chat JID, the edited message's id, the new text and the edit's own id. */
  readonly edits: Array<{ jid: string; messageId: string; text: string; editId: string }> = [];
  /** Every deleteMessage, in order: the chat JID, the revoked message and the revoke's own id. */
  readonly deletes: Array<{ jid: string; message: { id: string; fromMe: boolean; participant?: string }; revokeId: string }> = [];
  /** Make the next editMessage / deleteMessage reject with this error. */
  failNextEdit: Error | undefined;
  failNextDelete: Error | undefined;
  /** Make the next markRead / sendPresence reject with this error. */
  failNextRead: Error | undefined;
  failNextPresence: Error | undefined;
  /** Make the next checkNumbers reject with this error. */
  failNextCheck: Error | undefined;
  /** The time WhatsApp reports for the sends it takes (epoch ms); default: now. */
  sendTime: number | undefined;
  /** Make the next sendMessage reject with this error. */
  failNextSend: Error | undefined;
  /** Profiles: JIDs subscribed to, in order; what fetchProfile answers per JID (default: nothing set). */
  readonly presenceSubscriptions: string[] = [];
  readonly profiles = new Map<string, ContactProfile>();
  /** Every change to the account's own profile, in order (`picture` undefined: removed). */
  readonly profileChanges: Array<{ field: 'name' | 'about'; value: string } | { field: 'picture'; value: Buffer | undefined }> = [];
  /** Every setBlocked, in order. */
  readonly blockChanges: Array<{ jid: string; blocked: boolean }> = [];
  /** Make the next profile call (subscribePresence, fetchProfile, setProfile*, setBlocked) reject with this error. */
  failNextProfile: Error | undefined;
  /** Group administration (fake-groups.ts); the connection's group methods delegate to it. */
  readonly groups = new FakeGroups();
  readonly createGroup: FakeGroups['createGroup'] = (...args) => this.groups.createGroup(...args);
  readonly groupMetadata: FakeGroups['groupMetadata'] = (...args) => this.groups.groupMetadata(...args);
  readonly listGroups: FakeGroups['listGroups'] = (...args) => this.groups.listGroups(...args);
  readonly updateGroup: FakeGroups['updateGroup'] = (...args) => this.groups.updateGroup(...args);
  readonly updateGroupParticipants: FakeGroups['updateGroupParticipants'] = (...args) => this.groups.updateGroupParticipants(...args);
  readonly groupInviteCode: FakeGroups['groupInviteCode'] = (...args) => this.groups.groupInviteCode(...args);
  readonly joinGroup: FakeGroups['joinGroup'] = (...args) => this.groups.joinGroup(...args);
  readonly groupInviteInfo: FakeGroups['groupInviteInfo'] = (...args) => this.groups.groupInviteInfo(...args);
  readonly leaveGroup: FakeGroups['leaveGroup'] = (...args) => this.groups.leaveGroup(...args);
  readonly groupJoinRequests: FakeGroups['groupJoinRequests'] = (...args) => this.groups.groupJoinRequests(...args);
  readonly answerJoinRequests: FakeGroups['answerJoinRequests'] = (...args) => this.groups.answerJoinRequests(...args);
  constructor(
    readonly sessionId: string,
    readonly auth: AuthStateHandle,
    private readonly onEvent: (event: WhatsAppEvent) => void,
    /** The settings the session opened this socket with. */
    readonly settings?: SessionSettings,
  ) {}

  emit(event: WhatsAppEvent): void {
    this.onEvent(event);
  }

  qr(qr: string): void {
    this.emit({ type: 'qr', qr });
  }

  /** Linking as Baileys does it: pairing sets `creds.me` and `creds.account`. */
  open(phone = '221771234567'): void {
    const creds = this.auth.state.creds as { me?: { id: string }; account?: unknown };
    creds.me = { id: `${phone}:1@s.whatsapp.net` };
    creds.account = creds.account ?? { details: Buffer.alloc(1) };
    this.auth.saveCreds();
    this.emit({ type: 'open', account: { jid: `${phone}:1@s.whatsapp.net`, phoneNumber: phone } });
  }

  close(statusCode: number | undefined, message = 'closed'): void {
    this.emit({ type: 'close', statusCode, message });
  }

  /**
   * Someone else's messages arrive (`offline`: replayed after a reconnect, Baileys' 'append').
   * Their receipts are recorded in `acknowledged` when the session releases them.
   */
  receive(messages: Array<Omit<IncomingMessage, 'acknowledge'>>, offline = false): void {
    const withReceipts = messages.map((m) => ({
      ...m,
      acknowledge: () => void this.acknowledged.push(m.id),
      markRead: async () => void this.autoReads.push(m.id),
    }));
    this.emit({ type: 'messages', messages: withReceipts, offline });
  }

  /** Calls to the account (an offer rings; timeout / terminate end it). */
  calls(calls: IncomingCall[]): void {
    this.emit({ type: 'calls', calls });
  }

  async rejectCall(callId: string, callerJid: string): Promise<void> {
    const err = this.failNextReject;
    this.failNextReject = undefined;
    if (err) throw err;
    this.callRejects.push({ callId, callerJid });
  }

  /** Someone else's reactions, edits and revokes arrive; their receipts are recorded in `acknowledged` as for messages. */
  receiveUpdates(updates: IncomingUpdateContent[], offline = false): void {
    const withReceipts = updates.map((u) => ({ ...u, acknowledge: () => void this.acknowledged.push(u.id) }));
    this.emit({ type: 'updates', updates: withReceipts, offline });
  }

  receipts(receipts: MessageReceipt[]): void {
    this.emit({ type: 'receipts', receipts });
  }

  async sendMessage(jid: string, content: OutgoingContent, opts: SendOptions): Promise<{ messageId: string; sentAt: number }> {
    if (this.failNextSend) {
      const err = this.failNextSend;
      this.failNextSend = undefined;
      throw err;
    }
    this.sends.push({ jid, content, opts });
    return { messageId: opts.messageId, sentAt: this.sendTime ?? Date.now() };
  }

  async isOnWhatsApp(jid: string): Promise<boolean> {
    return !this.unregistered.has(jid);
  }

  async checkNumbers(phoneJids: readonly string[]): Promise<NumberCheck[]> {
    if (this.failNextCheck) {
      const err = this.failNextCheck;
      this.failNextCheck = undefined;
      throw err;
    }
    this.numberChecks.push([...phoneJids]);
    return phoneJids.map((jid) => {
      const exists = !this.unregistered.has(jid);
      const lid = exists ? this.lids.get(jid) : undefined;
      return { jid, exists, ...(lid ? { lid } : {}) };
    });
  }

  async markRead(jid: string, messages: readonly ReadKey[]): Promise<void> {
    const err = this.failNextRead;
    this.failNextRead = undefined;
    if (err) throw err;
    const participants = Object.fromEntries(messages.flatMap((m) => (m.participant ? [[m.id, m.participant]] : [])));
    this.reads.push({ jid, messageIds: messages.map((m) => m.id), ...(Object.keys(participants).length ? { participants } : {}) });
  }

  async sendPresence(state: PresenceUpdate, jid?: string): Promise<void> {
    const err = this.failNextPresence;
    this.failNextPresence = undefined;
    if (err) throw err;
    this.presences.push({ state, ...(jid ? { jid } : {}) });
  }

  /** Subscribed contacts' presence arrives. */
  presence(updates: ContactPresence[]): void {
    this.emit({ type: 'presence', updates });
  }

  private profileCall(): void {
    const err = this.failNextProfile;
    this.failNextProfile = undefined;
    if (err) throw err;
  }

  async subscribePresence(jid: string): Promise<void> {
    this.profileCall();
    this.presenceSubscriptions.push(jid);
  }

  async fetchProfile(jid: string): Promise<ContactProfile> {
    this.profileCall();
    return this.profiles.get(jid) ?? {};
  }

  async setProfileName(name: string): Promise<void> {
    this.profileCall();
    this.profileChanges.push({ field: 'name', value: name });
  }

  async setProfileAbout(about: string): Promise<void> {
    this.profileCall();
    this.profileChanges.push({ field: 'about', value: about });
  }

  async setProfilePicture(image: Buffer | undefined): Promise<void> {
    this.profileCall();
    this.profileChanges.push({ field: 'picture', value: image });
  }

  async setBlocked(jid: string, blocked: boolean): Promise<void> {
    this.profileCall();
    this.blockChanges.push({ jid, blocked });
  }

  async editMessage(jid: string, messageId: string, text: string, opts: { editId: string }): Promise<{ sentAt: number }> {
    const err = this.failNextEdit;
    this.failNextEdit = undefined;
    if (err) throw err;
    this.edits.push({ jid, messageId, text, editId: opts.editId });
    return { sentAt: Date.now() };
  }

  async deleteMessage(jid: string, message: { id: string; fromMe: boolean; participant?: string }, opts: { revokeId: string }): Promise<{ sentAt: number }> {
    const err = this.failNextDelete;
    this.failNextDelete = undefined;
    if (err) throw err;
    this.deletes.push({ jid, message: { ...message }, revokeId: opts.revokeId });
    return { sentAt: Date.now() };
  }

  async requestPairingCode(phoneDigits: string): Promise<string> {
    this.pairingRequests.push(phoneDigits);
    return 'ABCD1234';
  }

  async logout(): Promise<void> {
    this.loggedOut = true;
  }

  end(): void {
    this.ended = true;
  }
}

export class FakeConnector implements WhatsAppConnector {
  readonly sockets: FakeSocket[] = [];
  private waiters: Array<(s: FakeSocket) => void> = [];
  /** Called for every new socket: lets a test script WhatsApp's side (e.g. emit a QR at once). */
  onConnect: ((socket: FakeSocket) => void) | undefined;

  connect(params: { sessionId: string; auth: AuthStateHandle; onEvent: (e: WhatsAppEvent) => void; settings?: SessionSettings | undefined }): FakeSocket {
    const socket = new FakeSocket(params.sessionId, params.auth, params.onEvent, params.settings);
    this.sockets.push(socket);
    queueMicrotask(() => {
      this.onConnect?.(socket);
      for (const w of this.waiters.splice(0)) w(socket);
      for (const w of this.countWaiters.splice(0)) w();
    });
    return socket;
  }

  /** The sockets of one session that are not ended. */
  open(sessionId: string): FakeSocket[] {
    return this.sockets.filter((s) => s.sessionId === sessionId && !s.ended);
  }

  latest(sessionId?: string): FakeSocket | undefined {
    return [...this.sockets].reverse().find((s) => sessionId === undefined || s.sessionId === sessionId);
  }

  private countWaiters: Array<() => void> = [];

  /**
   * Resolves with the n-th socket ever opened (1-based), whether it opened before or after the
   * call: a command can be consumed and applied before its publisher has even seen the confirm.
   */
  async socket(n: number): Promise<FakeSocket> {
    while (this.sockets.length < n) await new Promise<void>((resolve) => this.countWaiters.push(resolve));
    return this.sockets[n - 1]!;
  }

  /** Resolves with the next socket opened (after `onConnect` ran). */
  nextSocket(): Promise<FakeSocket> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

// Compile-time proof that the fake fits the boundary.
export const _fits = new FakeConnector() satisfies WhatsAppConnector;
