import type { Logger } from 'pino';
import type {
  CheckNumbersCommand,
  DeleteMessageCommand,
  EditMessageCommand,
  ProfileCommand,
  GroupCommand,
  MarkReadCommand,
  RejectCallCommand,
  SendMessageCommand,
  SendPresenceCommand,
  UpdateSettingsCommand,
} from '../commands/command.js';
import { SessionMessaging } from '../messaging/session-messaging.js';
import { SessionCalls } from '../messaging/session-calls.js';
import { SessionGroups } from '../messaging/session-groups.js';
import { DEFAULT_SESSION_SETTINGS, effectiveSettings, shownSettings, type SessionSettings, type SessionSettingsPatch } from '../util/session-settings.js';
import { ProfileCommands } from '../messaging/profile-commands.js';
import { GroupCommands } from '../messaging/group-commands.js';
import type { AuthStateHandle, SessionMeta } from '../storage/types.js';
import { WorkerError } from '../util/errors.js';
import type { WhatsAppConnection } from '../whatsapp/types.js';
import { PairingPace } from './linking.js';
import type { SessionDeps } from './session-deps.js';
import { SessionPublisher } from './session-events.js';
import { SessionRecord } from './session-record.js';
import { SessionSocket } from './session-socket.js';
import { isLive, SessionStateCell, type SessionState } from './session-state.js';

export type { SessionDeps, SessionPolicy } from './session-deps.js';

const noop = (): void => undefined;

/**
 * One WhatsApp number: its socket, its auth state and its lifecycle. Commands reach it one at a
 * time (the manager serialises them); WhatsApp's own events are handled in arrival order on an
 * internal chain. Events are published without waiting for the broker (the outbox keeps their
 * order); commands await the events that answer them. This class handles the commands; the
 * socket and WhatsApp's events are session-socket.ts's, what a close means close-policy.ts's,
 * QR lifetimes and pairing pace linking.ts's, the stored owner session-record.ts's.
 *
 * Which requestId an event carries (there is no "current requestId" field):
 * - An event a command publishes itself carries that command's requestId: session_status,
 *   the re-published QR / connected / pairing code of a create on a live session,
 *   pairing_code_generated, disconnected + DISCONNECTED of `disconnect`, logged_out +
 *   LOGGED_OUT of `logout`, session_deleted, the disconnected of a `release`.
 * - A command that opens a socket (create, reconnect, request_pairing_code) starts an opening
 *   attempt that carries its requestId; a create or request_pairing_code during the attempt
 *   joins it (its requestId, if it has one, replaces the earlier one). What WhatsApp emits
 *   during the attempt carries the attempt's requestId: every qr_generated, the disconnected +
 *   RECONNECTING of a retry before the first open, and the event that ends the attempt:
 *   connected + HEALTHY, or qr_expired, logged_out, the banned or given-up disconnected with
 *   their health.
 * - The attempt ends there, or when a command closes the socket. From then on, what WhatsApp
 *   causes on its own (a drop and its reconnect, a logout from the phone, a later QR) carries
 *   no requestId; so does everything after a restore (a create without requestId).
 * Messages have their own rule (session-messaging.ts): a send's events carry its requestId,
 * received messages and receipts none.
 */
export class Session {
  private readonly state: SessionStateCell;
  private readonly socket: SessionSocket;
  private readonly pairingPace: PairingPace;
  private readonly record: SessionRecord;
  private readonly publisher: SessionPublisher;
  private readonly log: Logger;
  /** Messages in and out: a collaborator with its own ordering (see session-messaging.ts). */
  private readonly messaging: SessionMessaging;
  /** Incoming calls and `reject_call` (see session-calls.ts). */
  private readonly calls: SessionCalls;
  /** Group notifications (see session-groups.ts). */
  private readonly groupNotifications: SessionGroups;
  /** Contacts' presence and profiles, the account's profile, blocking (see profile-commands.ts). */
  private readonly profiles: ProfileCommands;
  /** Group administration (see group-commands.ts). */
  private readonly groups: GroupCommands;

  constructor(
    readonly id: string,
    readonly numberId: number,
    readonly phoneNumber: string,
    private readonly deps: SessionDeps,
  ) {
    const log = (this.log = deps.logger.child({ sessionId: id, numberId }));
    this.state = new SessionStateCell((from, to) => log.info({ from, to }, 'session state'));
    this.pairingPace = new PairingPace(deps.policy.pairingCodeMinIntervalMs ?? 0);
    this.record = new SessionRecord(this, deps.store, deps.workerId);
    this.publisher = new SessionPublisher(this, deps.events, log);
    const messagingDeps = deps.messaging ?? { sendWaitForOpenMs: 30_000, mediaMaxBytes: 16 * 1024 * 1024 };
    this.messaging = new SessionMessaging(this, deps.events, messagingDeps, log);
    this.calls = new SessionCalls(this, deps.events, { sendWaitForOpenMs: messagingDeps.sendWaitForOpenMs }, log);
    this.profiles = new ProfileCommands(this, deps.events, messagingDeps, log);
    this.groups = new GroupCommands(this, deps.events, messagingDeps, log);
    this.groupNotifications = new SessionGroups(this, deps.events, log);
    const { state, publisher, messaging, calls, profiles, groupNotifications } = this;
    this.socket = new SessionSocket({
      sessionId: id,
      deps,
      state,
      publisher,
      messages: messaging,
      calls,
      groups: groupNotifications,
      presence: profiles,
      prepare: () =>
        this.record.load().then(noop, (err) => log.warn({ err }, "could not read the session's metadata: its settings are the defaults until it can")),
      settings: () => this.settings,
      opened: (conn) => this.announceOnline(conn),
      log,
      claim: (jid) => this.claimOwnership(jid),
    });
  }

  /** The number's settings in force: the worker's defaults with the number's own (stored with the session) on top. */
  get settings(): SessionSettings {
    return effectiveSettings(this.deps.settingsDefaults ?? DEFAULT_SESSION_SETTINGS, this.record.settings);
  }

  /** When the account was linked (send pacing's warm-up), as stored with the session; undefined when unknown. */
  get linkedAt(): number | undefined {
    return this.record.linkedAt;
  }

  get status(): SessionState['status'] {
    return this.state.current.status;
  }

  get snapshot(): Readonly<SessionState> {
    return this.state.current;
  }

  get live(): boolean {
    return isLive(this.state.current);
  }

  /** Resolves when the session reaches a state matching `done` (true), or false after `timeoutMs`. */
  waitFor(done: (state: SessionState) => boolean, timeoutMs: number): Promise<boolean> {
    return this.state.waitFor(done, timeoutMs);
  }

  // ---- commands (called one at a time by the manager) -------------------------------------

  /** `create`: start the socket, or, if it is live already, re-publish where it stands. */
  async create(requestId: string | undefined): Promise<void> {
    if (!this.live) return this.socket.open(requestId);
    this.socket.join(requestId);
    await this.republishState(requestId);
  }

  async reconnect(requestId: string | undefined): Promise<void> {
    this.socket.close();
    await this.socket.open(requestId);
  }

  async disconnect(requestId: string | undefined): Promise<void> {
    const reason = 'disconnect requested';
    this.socket.close();
    this.state.set({ status: 'stopped', reason });
    await this.socket.releaseAuth();
    await Promise.all([
      this.publisher.publish('disconnected', { reason, willReconnect: false }, requestId),
      this.publisher.health('DISCONNECTED', reason, requestId),
    ]);
  }

  /** `logout`: unlink from the phone when connected, then drop the credentials. */
  async logout(requestId: string | undefined, reason = 'logout requested'): Promise<void> {
    await this.socket.unlinkIfConnected('dropping credentials anyway');
    this.socket.close();
    await this.socket.releaseAuth();
    await this.deps.store.removeAuth(this.id);
    this.state.set({ status: 'logged_out', reason });
    await Promise.all([this.publisher.publish('logged_out', { reason }, requestId), this.publisher.health('LOGGED_OUT', reason, requestId)]);
  }

  /** `delete`: logout, then remove everything stored for the session. */
  async delete(requestId: string | undefined): Promise<void> {
    await this.socket.unlinkIfConnected('deleting anyway');
    this.socket.close();
    this.profiles.stop();
    await this.socket.releaseAuth();
    await this.messaging.forget();
    await this.deps.store.removeSession(this.id);
    this.state.set({ status: 'logged_out', reason: 'deleted' });
    await this.publisher.publish('session_deleted', {}, requestId);
  }

  async publishStatus(requestId: string | undefined): Promise<void> {
    const s = this.state.current;
    await this.publisher.answer(
      'session_status',
      { status: s.status === 'idle' ? 'stopped' : s.status, ...(s.status === 'connected' ? { phoneNumber: s.account.phoneNumber, jid: s.account.jid } : {}) },
      requestId,
    );
  }

  /** `request_pairing_code`: link with a code typed on the phone instead of a QR. */
  async requestPairingCode(requestId: string | undefined, phoneDigits: string): Promise<string> {
    if ((await this.socket.credentials()).isLinked()) {
      throw new WorkerError('ALREADY_LINKED', 'the session is already linked to a phone; logout first to link again');
    }
    const refusal = this.pairingPace.refusal();
    if (refusal) {
      // A repeat (a redelivery, an impatient backend) gets the code already on the phone.
      const current = this.state.current;
      if (current.status !== 'awaiting_pairing') throw refusal;
      this.socket.join(requestId);
      await this.publisher.publish('pairing_code_generated', { pairingCode: current.pairingCode }, requestId);
      return current.pairingCode;
    }
    this.pairingPace.requested();
    if (this.live) this.socket.join(requestId);
    else await this.socket.open(requestId);
    if (this.status !== 'awaiting_scan' && this.status !== 'awaiting_pairing') await this.socket.registration.next(this.deps.policy.pairingReadyTimeoutMs);
    const conn = this.socket.connection;
    if (!conn) throw new WorkerError('NOT_CONNECTED', 'the socket closed before the pairing code could be requested');
    const pairingCode = await conn.requestPairingCode(phoneDigits);
    this.state.set({ status: 'awaiting_pairing', pairingCode });
    await this.publisher.publish('pairing_code_generated', { pairingCode }, requestId);
    return pairingCode;
  }

  /** `send_message`: sends once per requestId; the outcome is message_sent or message_failed. */
  send(cmd: SendMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.send(cmd, defer);
  }

  /** `check_numbers`: one WhatsApp query; the answer is numbers_checked or numbers_check_failed. */
  checkNumbers(cmd: CheckNumbersCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.checkNumbers(cmd, defer);
  }

  /** `mark_read`: read receipts to WhatsApp; the answer is messages_read or mark_read_failed. */
  markRead(cmd: MarkReadCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.markRead(cmd, defer);
  }

  /** `send_presence`: the account's presence or a chat state; the answer is presence_sent or presence_failed. */
  sendPresence(cmd: SendPresenceCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.sendPresence(cmd, defer);
  }

  /** `reject_call`: the reject sent to WhatsApp; the answer is call_rejected or call_reject_failed. */
  rejectCall(cmd: RejectCallCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.calls.reject(cmd, defer);
  }

  /** `create` with `settings`: stored before the socket opens (it is configured with them); on a live session, applied like `update_settings`. */
  async useSettings(patch: SessionSettingsPatch | undefined): Promise<void> {
    if (patch && Object.keys(patch).length) await this.storeSettings(patch);
  }

  /**
   * `update_settings`: stored with the session (a storage failure throws: the command is retried),
   * applied at once (rejectCalls, rejectCallMessage and autoRead are read at each use; alwaysOnline
   * announces the change if connected; historySync counts from the next link), answered with
   * settings_updated carrying the settings now in force.
   */
  async updateSettings(cmd: UpdateSettingsCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const after = await this.storeSettings(cmd.settings);
    const published = this.deps.events.message(
      'settings_updated',
      { numberId: this.numberId, sessionId: this.id, requestId: cmd.requestId },
      { settings: shownSettings(after) },
    );
    if (defer) defer(published);
    else await published;
  }

  /** Stores the settings with `patch` applied and applies what changed at once; the settings now in force. */
  private async storeSettings(patch: SessionSettingsPatch): Promise<SessionSettings> {
    const before = this.settings;
    await this.record.saveSettings(patch);
    const after = this.settings;
    const conn = this.status === 'connected' ? this.socket.connection : undefined;
    if (conn && before.alwaysOnline !== after.alwaysOnline) this.announceOnline(conn, after.alwaysOnline ? 'available' : 'unavailable');
    if (before.proxy !== after.proxy) this.socket.reopen(); // the socket is configured with it
    return after;
  }

  /**
   * alwaysOnline: the account announced `available` on each connect (and `presence` when the
   * setting changes). Never throws: without the push name WhatsApp tells the account, Baileys
   * sends no presence (see send_presence); that is logged, and the next connect tries again.
   */
  private announceOnline(conn: WhatsAppConnection, presence?: 'available' | 'unavailable'): void {
    const state = presence ?? (this.settings.alwaysOnline ? 'available' : undefined);
    if (!state) return;
    conn.sendPresence(state).then(
      () => this.log.info({ presence: state }, 'alwaysOnline: presence announced'),
      (err) => this.log.warn({ presence: state, err }, 'alwaysOnline: the presence could not be announced'),
    );
  }

  /** subscribe_presence, get_profile, update_profile, block, unblock: each answered by its event (see profile-commands.ts). */
  profileCommand(cmd: ProfileCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.profiles.run(cmd, defer);
  }

  /** The group commands (create_group, update_group, ...): each answered by its event (see group-commands.ts). */
  groupCommand(cmd: GroupCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.groups.run(cmd, defer);
  }

  /** `edit_message`: once per requestId; the answer is message_edit_sent or message_edit_failed. */
  editMessage(cmd: EditMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.editMessage(cmd, defer);
  }

  /** `delete_message`: once per requestId; the answer is message_deleted or message_delete_failed. */
  deleteMessage(cmd: DeleteMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.deleteMessage(cmd, defer);
  }

  /**
   * The open socket for a send. A session on its way to open (starting, reconnecting, waiting
   * for a scan) gets `timeoutMs` to get there; one that will not open by itself fails at once.
   */
  async connectionForSend(timeoutMs: number): Promise<WhatsAppConnection> {
    const open = () => (this.status === 'connected' ? this.socket.connection : undefined);
    if (!open() && this.live) {
      await this.waitFor((s) => s.status === 'connected' || !isLive(s), timeoutMs);
      const conn = open();
      if (conn) return conn;
      if (this.live) throw new WorkerError('NOT_CONNECTED', `the session did not open within ${timeoutMs} ms (SEND_WAIT_FOR_OPEN_MS); it is ${this.status}`);
    }
    const conn = open();
    if (conn) return conn;
    const s = this.state.current;
    const why = 'reason' in s ? `${s.status}: ${s.reason}` : s.status === 'idle' ? 'not started' : s.status;
    throw new WorkerError('NOT_CONNECTED', `the session is not connected (${why}); a create or reconnect must open it first`);
  }

  /**
   * `release` (the command): let the session go without logging out, and (with `handoverTo`)
   * record the worker that takes it over, after the socket is closed and the credentials are
   * flushed: the new owner waits for exactly that record, so two workers never drive the number at once.
   */
  async handOver(requestId: string | undefined, handoverTo: string | undefined): Promise<void> {
    const wasLive = this.live;
    this.socket.close();
    await this.socket.settled();
    await this.socket.releaseAuth();
    const reason = handoverTo ? `handed over to worker ${handoverTo}` : 'released';
    this.state.set({ status: 'stopped', reason });
    if (handoverTo) await this.record.handOver(handoverTo);
    if (wasLive) await this.publisher.publish('disconnected', { reason, willReconnect: false }, requestId);
  }

  /** Worker shutdown: close the socket without logging out or publishing, flush the credentials. */
  async stopForShutdown(): Promise<void> {
    this.socket.close();
    this.profiles.stop();
    await this.socket.settled();
    await this.messaging.idle();
    await this.calls.idle();
    await this.socket.releaseAuth();
    if (this.live) this.state.set({ status: 'idle' });
  }

  /** Record this worker as the owner (restores look for it). */
  async claim(): Promise<void> {
    await this.claimOwnership();
  }

  /**
   * Restore: take over what the manager already loaded (the metadata and an open auth state),
   * instead of reading them from storage a second time.
   */
  adopt(meta: SessionMeta, auth: AuthStateHandle): void {
    this.record.adopt(meta);
    this.socket.adopt(auth);
  }

  /** Never rejects: a session whose metadata cannot be written yet still works (logged). */
  private async claimOwnership(jid?: string): Promise<void> {
    await this.record.claim(jid).catch((err) => this.log.warn({ err }, 'could not save session metadata'));
  }

  /** A create on a live session: publish where it stands, as the answer to that create. */
  private async republishState(requestId: string | undefined): Promise<void> {
    const s = this.state.current;
    if (s.status === 'awaiting_scan') {
      const qrCode = await this.deps.renderQr(s.qr);
      await this.publisher.publish('qr_generated', { qrCode, qrString: s.qr, attempt: s.attempt, expiresAt: s.expiresAt }, requestId);
    } else if (s.status === 'connected') {
      await this.publisher.publish('connected', { phoneNumber: s.account.phoneNumber, jid: s.account.jid }, requestId);
    } else if (s.status === 'awaiting_pairing') {
      await this.publisher.publish('pairing_code_generated', { pairingCode: s.pairingCode }, requestId);
    } else {
      await this.publishStatus(requestId);
    }
  }
}
