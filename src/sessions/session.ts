import type { Logger } from 'pino';
import type { Events, EventSubject } from '../events/event-publisher.js';
import type { HealthStatus } from '../events/catalogue.js';
import type { AuthStateHandle, SessionMeta, SessionStore } from '../storage/types.js';
import { backoffDelay, SingleTimer } from '../util/backoff.js';
import { describeError, WorkerError } from '../util/errors.js';
import { classifyDisconnect } from '../whatsapp/disconnect-reasons.js';
import type { WhatsAppConnection, WhatsAppConnector, WhatsAppEvent } from '../whatsapp/types.js';
import type { SendMessageCommand } from '../commands/command.js';
import { SessionMessaging, type MessagingDeps } from '../messaging/session-messaging.js';
import { isLive, type SessionState } from './session-state.js';
import type { OwnershipPort } from './ownership.js';

export interface SessionPolicy {
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  /** 440 conflicts within `conflictWindowMs` after which the session gives up. */
  maxConflicts: number;
  conflictWindowMs: number;
  /** Lifetime of a QR as Baileys is configured; undefined = WhatsApp's 60 s then 20 s. */
  qrTimeoutMs: number | undefined;
  /** How long `request_pairing_code` waits for the socket to be ready for registration. */
  pairingReadyTimeoutMs: number;
  /**
   * At most one pairing code per this window (default none): every request makes WhatsApp
   * push a notification to the phone, and WhatsApp throttles numbers that ask too often.
   */
  pairingCodeMinIntervalMs?: number | undefined;
}

export interface SessionDeps {
  workerId: string;
  connector: WhatsAppConnector;
  store: SessionStore;
  events: Events;
  logger: Logger;
  policy: SessionPolicy;
  renderQr: (qr: string) => Promise<string>;
  printQr?: ((qr: string, label: string) => void) | undefined;
  /** Sending and receiving messages; defaults: no media store, no history, 30 s wait. */
  messaging?: MessagingDeps | undefined;
  /** False while the broker is unreachable: another process may be taking this worker's sessions over. */
  ownershipCertain?: () => boolean;
  /** Reassignment between workers (absent: a worker on its own never asks anyone). */
  ownership?: OwnershipPort;
}

/** Linked = the phone accepted this device (`creds.account` is set by a successful pairing). */
export function isLinked(auth: AuthStateHandle | undefined): boolean {
  return !!auth?.state.creds.account && !!auth.state.creds.me;
}

/**
 * One WhatsApp number: its socket, its auth state and its lifecycle. Commands reach it one at a
 * time (the manager serialises them); WhatsApp's own events are handled in arrival order on an
 * internal chain. Events are published without waiting for the broker (the outbox keeps their
 * order); commands await the events that answer them.
 */
export class Session {
  private state: SessionState = { status: 'idle' };
  private auth: AuthStateHandle | undefined;
  private conn: WhatsAppConnection | undefined;
  /** Bumped for every socket: events from an older socket are ignored. */
  private generation = 0;
  private requestId: string | undefined;
  private qrAttempt = 0;
  /** The stored credentials are linked ones (loaded so, or flushed since the link). */
  private linkDurable = false;
  private reconnectAttempt = 0;
  /** When WhatsApp was last asked for a pairing code (RATE_LIMITED within the window). */
  private lastPairingCodeAt: number | undefined;
  private conflictTimes: number[] = [];
  private readonly retry = new SingleTimer();
  private chain: Promise<void> = Promise.resolve();
  private readonly qrWaiters = new Set<() => void>();
  private readonly stateWaiters = new Set<(state: SessionState) => void>();
  private readonly log: Logger;
  /** Messages in and out: a collaborator with its own ordering (see session-messaging.ts). */
  private readonly messaging: SessionMessaging;

  constructor(
    readonly id: string,
    readonly numberId: number,
    readonly phoneNumber: string,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.logger.child({ sessionId: id, numberId });
    this.messaging = new SessionMessaging(this, deps.events, deps.messaging ?? { sendWaitForOpenMs: 30_000, mediaMaxBytes: 16 * 1024 * 1024 }, this.log);
  }

  get status(): SessionState['status'] {
    return this.state.status;
  }

  get snapshot(): Readonly<SessionState> {
    return this.state;
  }

  get live(): boolean {
    return isLive(this.state);
  }

  // ---- commands (called one at a time by the manager) -------------------------------------

  /** `create`: start the socket, or, if it is live already, re-publish where it stands. */
  async create(requestId: string | undefined): Promise<void> {
    this.requestId = requestId ?? this.requestId;
    if (this.live) {
      await this.republishState();
      return;
    }
    await this.start();
  }

  async reconnect(requestId: string | undefined): Promise<void> {
    this.requestId = requestId ?? this.requestId;
    this.closeSocket();
    await this.start();
  }

  async disconnect(requestId: string | undefined): Promise<void> {
    this.requestId = requestId ?? this.requestId;
    this.closeSocket();
    this.setState({ status: 'stopped', reason: 'disconnect requested' });
    await this.releaseAuth();
    await Promise.all([
      this.publish('disconnected', { reason: 'disconnect requested', willReconnect: false }),
      this.health('DISCONNECTED', 'disconnect requested'),
    ]);
  }

  /** `logout`: unlink from the phone when connected, then drop the credentials. */
  async logout(requestId: string | undefined, reason = 'logout requested'): Promise<void> {
    this.requestId = requestId ?? this.requestId;
    const conn = this.conn;
    if (conn && this.state.status === 'connected') {
      this.generation++; // the 401 close that follows is ours, not news
      await conn.logout().catch((err) => this.log.warn({ err: describeError(err) }, 'logout on WhatsApp failed; dropping credentials anyway'));
    }
    this.closeSocket();
    await this.releaseAuth();
    await this.deps.store.removeAuth(this.id);
    this.setState({ status: 'logged_out', reason });
    await Promise.all([this.publish('logged_out', { reason }), this.health('LOGGED_OUT', reason)]);
  }

  /** `delete`: logout, then remove everything stored for the session. */
  async delete(requestId: string | undefined): Promise<void> {
    this.requestId = requestId ?? this.requestId;
    if (this.conn && this.state.status === 'connected') {
      this.generation++;
      await this.conn.logout().catch((err) => this.log.warn({ err: describeError(err) }, 'logout on WhatsApp failed; deleting anyway'));
    }
    this.closeSocket();
    await this.releaseAuth();
    await this.messaging.forget();
    await this.deps.store.removeSession(this.id);
    this.setState({ status: 'logged_out', reason: 'deleted' });
    await this.publish('session_deleted', {});
  }

  async publishStatus(requestId: string | undefined): Promise<void> {
    const s = this.state;
    await this.deps.events.session('session_status', this.subject(requestId), {
      status: s.status === 'idle' ? 'stopped' : s.status,
      ...(s.status === 'connected' ? { phoneNumber: s.account.phoneNumber, jid: s.account.jid } : {}),
    });
  }

  /** `request_pairing_code`: link with a code typed on the phone instead of a QR. */
  async requestPairingCode(requestId: string | undefined, phoneDigits: string): Promise<string> {
    this.requestId = requestId ?? this.requestId;
    if (!this.auth) this.holdAuth(await this.deps.store.openAuthState(this.id));
    if (isLinked(this.auth)) {
      throw new WorkerError('ALREADY_LINKED', 'the session is already linked to a phone; logout first to link again');
    }
    const window = this.deps.policy.pairingCodeMinIntervalMs ?? 0;
    const since = this.lastPairingCodeAt === undefined ? Infinity : Date.now() - this.lastPairingCodeAt;
    if (since < window) {
      // A repeat (a redelivery, an impatient backend) gets the code already on the phone.
      const current = this.state;
      if (current.status === 'awaiting_pairing') {
        await this.publish('pairing_code_generated', { pairingCode: current.pairingCode });
        return current.pairingCode;
      }
      throw new WorkerError('RATE_LIMITED', `a pairing code was requested ${Math.round(since / 1000)} s ago; wait ${Math.ceil((window - since) / 1000)} s (PAIRING_CODE_MIN_INTERVAL_MS)`);
    }
    this.lastPairingCodeAt = Date.now();
    if (!this.live) await this.start();
    if (this.state.status !== 'awaiting_scan' && this.state.status !== 'awaiting_pairing') await this.waitForRegistration();
    const conn = this.conn;
    if (!conn) throw new WorkerError('NOT_CONNECTED', 'the socket closed before the pairing code could be requested');
    const pairingCode = await conn.requestPairingCode(phoneDigits);
    this.setState({ status: 'awaiting_pairing', pairingCode });
    await this.publish('pairing_code_generated', { pairingCode });
    return pairingCode;
  }

  /** `send_message`: sends once per requestId; the outcome is message_sent or message_failed. */
  send(cmd: SendMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    return this.messaging.send(cmd, defer);
  }

  /**
   * The open socket for a send. A session on its way to open (starting, reconnecting, waiting
   * for a scan) gets `timeoutMs` to get there; one that will not open by itself fails at once.
   */
  async connectionForSend(timeoutMs: number): Promise<WhatsAppConnection> {
    const open = () => (this.state.status === 'connected' ? this.conn : undefined);
    if (!open() && this.live) {
      await this.waitFor((s) => s.status === 'connected' || !isLive(s), timeoutMs);
      const conn = open();
      if (conn) return conn;
      if (this.live) throw new WorkerError('NOT_CONNECTED', `the session did not open within ${timeoutMs} ms (SEND_WAIT_FOR_OPEN_MS); it is ${this.state.status}`);
    }
    const conn = open();
    if (conn) return conn;
    const s = this.state;
    const why = 'reason' in s ? `${s.status}: ${s.reason}` : s.status === 'idle' ? 'not started' : s.status;
    throw new WorkerError('NOT_CONNECTED', `the session is not connected (${why}); a create or reconnect must open it first`);
  }

  /**
   * `release`: let the session go without logging out, and (with `handoverTo`) record the worker
   * that takes it over, after the socket is closed and the credentials are flushed: the new owner
   * waits for exactly that record, so two workers never drive the number at once.
   */
  async handOver(requestId: string | undefined, handoverTo: string | undefined): Promise<void> {
    this.requestId = requestId ?? this.requestId;
    const wasLive = this.live;
    this.closeSocket();
    await this.chain;
    await this.releaseAuth();
    const reason = handoverTo ? `handed over to worker ${handoverTo}` : 'released';
    this.setState({ status: 'stopped', reason });
    if (handoverTo) {
      const existing = this.meta ?? (await this.deps.store.loadMeta(this.id));
      const now = Date.now();
      const meta: SessionMeta = { ...(existing ?? { sessionId: this.id, numberId: this.numberId, phoneNumber: this.phoneNumber, createdAt: now }), workerId: handoverTo, updatedAt: now };
      await this.deps.store.saveMeta(meta);
      this.meta = meta;
    }
    if (wasLive) await this.publish('disconnected', { reason, willReconnect: false });
  }

  /** Shutdown: close the socket without logging out, flush the credentials. */
  async release(): Promise<void> {
    this.closeSocket();
    await this.chain;
    await this.messaging.idle();
    await this.releaseAuth();
    if (this.live) this.setState({ status: 'idle' });
  }

  // ---- the socket --------------------------------------------------------------------------

  private async start(): Promise<void> {
    this.retry.cancel();
    if (!this.auth) this.holdAuth(await this.deps.store.openAuthState(this.id));
    this.qrAttempt = 0;
    this.openSocket();
  }

  private openSocket(): void {
    const generation = ++this.generation;
    this.setState({ status: 'starting' });
    this.conn = this.deps.connector.connect({
      sessionId: this.id,
      auth: this.auth!,
      onEvent: (event) => this.enqueue(() => this.onWhatsApp(generation, event)),
    });
  }

  private closeSocket(): void {
    this.retry.cancel();
    this.generation++;
    const conn = this.conn;
    this.conn = undefined;
    conn?.end();
  }

  private async releaseAuth(): Promise<void> {
    const auth = this.auth;
    this.auth = undefined;
    this.linkDurable = false;
    await auth?.close();
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err) => this.log.error({ err: describeError(err) }, 'session event handling failed'));
  }

  private async onWhatsApp(generation: number, event: WhatsAppEvent): Promise<void> {
    if (generation !== this.generation) return;
    switch (event.type) {
      case 'qr':
        return this.onQr(event.qr);
      case 'open':
        return this.onOpen(event.account);
      case 'close':
        return this.onClose(event.statusCode, event.message);
      case 'messages':
        return this.messaging.onMessages(event.messages, event.offline);
      case 'receipts':
        return this.messaging.onReceipts(event.receipts);
    }
  }

  private async onQr(qr: string): Promise<void> {
    for (const wake of this.qrWaiters) wake();
    this.qrWaiters.clear();
    // Linking by code: the QR refs keep rotating underneath, but nobody will scan them.
    if (this.state.status === 'awaiting_pairing') return;
    const attempt = ++this.qrAttempt;
    const ttl = this.deps.policy.qrTimeoutMs ?? (attempt === 1 ? 60_000 : 20_000);
    const expiresAt = Date.now() + ttl;
    this.setState({ status: 'awaiting_scan', qr, attempt, expiresAt });
    this.deps.printQr?.(qr, `QR ${attempt} for ${this.id} (expires in ${Math.round(ttl / 1000)} s)`);
    const qrCode = await this.deps.renderQr(qr);
    void this.publish('qr_generated', { qrCode, qrString: qr, attempt, expiresAt });
  }

  private async onOpen(account: { jid: string; phoneNumber: string; lid?: string }): Promise<void> {
    this.reconnectAttempt = 0;
    this.qrAttempt = 0;
    this.setState({ status: 'connected', account });
    // `connected` promises a durable link: after a new link, persist the credentials first, so
    // that even a kill right after the event restores without a new scan. Credentials that were
    // loaded linked (a restore, a reconnect) already are durable: what the login changed is
    // written in the next flush window, off the restore's critical path.
    if (!this.linkDurable) {
      await this.auth?.flush().then(
        () => (this.linkDurable = true),
        (err) => this.log.error({ err: describeError(err) }, 'could not persist credentials yet; retrying in the background'),
      );
    }
    await this.saveMeta(account.jid);
    void this.publish('connected', { phoneNumber: account.phoneNumber, jid: account.jid });
    void this.health('HEALTHY');
  }

  private async onClose(statusCode: number | undefined, message: string): Promise<void> {
    this.conn = undefined;
    const verdict = classifyDisconnect(statusCode, { linked: isLinked(this.auth), qrShown: this.qrAttempt > 0, message });
    this.log.info({ statusCode, message, verdict: verdict.kind }, 'socket closed');
    switch (verdict.kind) {
      case 'restart':
        // 515 after pairing: the new credentials log in on a fresh socket, silently.
        this.openSocket();
        return;
      case 'retry':
        return this.scheduleReconnect(statusCode, message);
      case 'replaced': {
        if (this.deps.ownershipCertain && !this.deps.ownershipCertain()) {
          // Cut off from the broker and replaced: most likely a replica took over. Yield at once
          // (no reconnect, no events: the new owner reports this number now).
          this.log.warn('replaced while this worker cannot confirm it owns the session: yielding it');
          this.setState({ status: 'idle' });
          await this.releaseAuth();
          return;
        }
        const now = Date.now();
        this.conflictTimes = [...this.conflictTimes.filter((t) => now - t < this.deps.policy.conflictWindowMs), now];
        if (this.conflictTimes.length >= this.deps.policy.maxConflicts) {
          const reason = `replaced by another connection ${this.conflictTimes.length} times; not reconnecting`;
          this.setState({ status: 'stopped', reason });
          await this.releaseAuth();
          void this.publish('disconnected', { reason, statusCode, willReconnect: false });
          void this.health('DISCONNECTED', reason);
          return;
        }
        return this.scheduleReconnect(statusCode, 'replaced by another connection');
      }
      case 'qr_expired':
        this.setState({ status: 'stopped', reason: 'qr_expired' });
        await this.releaseAuth();
        void this.publish('qr_expired', {});
        void this.health('DISCONNECTED', 'qr_expired');
        return;
      case 'logged_out': {
        const reason = statusCode === 401 ? 'logged out from the phone' : `credentials refused (${statusCode})`;
        await this.releaseAuth();
        await this.deps.store.removeAuth(this.id).catch((err) => this.log.error({ err: describeError(err) }, 'could not remove credentials'));
        this.setState({ status: 'logged_out', reason });
        void this.publish('logged_out', { reason });
        void this.health('LOGGED_OUT', reason);
        return;
      }
      case 'banned': {
        const reason = `refused by WhatsApp (${statusCode}): the number is banned or blocked`;
        this.setState({ status: 'banned', reason });
        await this.releaseAuth();
        void this.publish('disconnected', { reason, statusCode, willReconnect: false });
        void this.health('BANNED', reason);
        return;
      }
    }
  }

  private scheduleReconnect(statusCode: number | undefined, message: string): void {
    const attempt = this.reconnectAttempt++;
    const delay = backoffDelay(attempt, { baseMs: this.deps.policy.reconnectBaseDelayMs, maxMs: this.deps.policy.reconnectMaxDelayMs });
    this.setState({ status: 'reconnecting', attempt: attempt + 1, statusCode, retryAt: Date.now() + delay });
    void this.publish('disconnected', { reason: message, statusCode, willReconnect: true });
    void this.health('RECONNECTING', message);
    const generation = this.generation;
    this.retry.schedule(delay, () =>
      this.enqueue(async () => {
        if (generation === this.generation && this.state.status === 'reconnecting') this.openSocket();
      }),
    );
  }

  private waitForRegistration(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.qrWaiters.delete(wake);
        reject(new WorkerError('TIMEOUT', 'WhatsApp did not offer registration in time'));
      }, this.deps.policy.pairingReadyTimeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.qrWaiters.add(wake);
    });
  }

  private async republishState(): Promise<void> {
    const s = this.state;
    if (s.status === 'awaiting_scan') {
      const qrCode = await this.deps.renderQr(s.qr);
      await this.publish('qr_generated', { qrCode, qrString: s.qr, attempt: s.attempt, expiresAt: s.expiresAt });
    } else if (s.status === 'connected') {
      await this.publish('connected', { phoneNumber: s.account.phoneNumber, jid: s.account.jid });
    } else if (s.status === 'awaiting_pairing') {
      await this.publish('pairing_code_generated', { pairingCode: s.pairingCode });
    } else {
      await this.publishStatus(this.requestId);
    }
  }

  /** The metadata as last read or written, so an unchanged owner costs no storage round trip. */
  private meta: SessionMeta | undefined;

  private async saveMeta(jid?: string): Promise<void> {
    const known = this.meta;
    if (known && known.workerId === this.deps.workerId && (jid === undefined || jid === known.jid)) return;
    try {
      const existing = known ?? (await this.deps.store.loadMeta(this.id));
      const now = Date.now();
      const meta: SessionMeta = {
        sessionId: this.id,
        numberId: this.numberId,
        phoneNumber: this.phoneNumber,
        workerId: this.deps.workerId,
        ...(jid ?? existing?.jid ? { jid: jid ?? existing?.jid } : {}),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await this.deps.store.saveMeta(meta);
      this.meta = meta;
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not save session metadata');
    }
  }

  /** Record this worker as the owner (restores look for it). */
  async claim(): Promise<void> {
    await this.saveMeta();
  }

  /**
   * Restore: take over what the manager already loaded (the metadata and an open auth state),
   * instead of reading them from storage a second time.
   */
  adopt(meta: SessionMeta, auth: AuthStateHandle): void {
    this.meta = meta;
    if (!this.auth) this.holdAuth(auth);
  }

  /** Credentials loaded already linked are already durable: the next `connected` need not wait for a flush. */
  private holdAuth(auth: AuthStateHandle): void {
    this.auth = auth;
    this.linkDurable = isLinked(auth);
  }

  // ---- state and events --------------------------------------------------------------------

  /** The one place a session's state changes. */
  private setState(next: SessionState): void {
    const from = this.state.status;
    this.state = next;
    if (from !== next.status) this.log.info({ from, to: next.status }, 'session state');
    for (const notify of this.stateWaiters) notify(next);
  }

  /** Resolves when the session reaches a state matching `done` (or the timeout passes). */
  waitFor(done: (state: SessionState) => boolean, timeoutMs: number): Promise<boolean> {
    if (done(this.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const listener = (state: SessionState) => {
        if (done(state)) finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.stateWaiters.delete(listener);
        resolve(ok);
      };
      this.stateWaiters.add(listener);
    });
  }

  private subject(requestId = this.requestId): EventSubject {
    return { numberId: this.numberId, sessionId: this.id, requestId };
  }

  private publish<A extends Parameters<Events['session']>[0]>(action: A, payload: Parameters<Events['session']>[2] & object): Promise<void> {
    return this.deps.events
      .session(action, this.subject(), payload as never)
      .then(() => undefined)
      .catch((err) => this.log.error({ err: describeError(err), action }, 'could not publish event'));
  }

  private health(status: HealthStatus, reason?: string): Promise<void> {
    return this.deps.events
      .health(this.subject(), status, reason)
      .then(() => undefined)
      .catch((err) => this.log.error({ err: describeError(err), status }, 'could not publish health'));
  }
}
