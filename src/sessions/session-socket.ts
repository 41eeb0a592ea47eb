import type { Logger } from 'pino';
import type { AuthStateHandle } from '../storage/types.js';
import { SingleTimer } from '../util/backoff.js';

import type {
  ContactPresence,
  HistoryChunk,
  GroupEvent,
  IncomingCall,
  IncomingMessage,
  IncomingUpdate,
  LinkedAccount,
  MessageReceipt,
  WhatsAppConnection,
  WhatsAppEvent,
} from '../whatsapp/types.js';
import type { SessionSettings } from '../util/session-settings.js';
import type { ProxyFailureCode } from '../util/proxy-url.js';
import { afterOpen, decideOnClose, NO_HISTORY, type CloseDecision, type ReconnectHistory } from './close-policy.js';
import { OpeningAttempt, RegistrationWait } from './linking.js';
import { UNBOUNDED_OPENING_GATE, type OpeningSlot } from './opening-gate.js';
import type { SessionDeps } from './session-deps.js';
import type { SessionPublisher } from './session-events.js';
import type { SessionStateCell } from './session-state.js';
import type { TraceRef } from '../telemetry/types.js';

/** What the socket works with, all owned by its session. */
export interface SessionSocketParts {
  sessionId: string;
  deps: SessionDeps;
  state: SessionStateCell;
  publisher: SessionPublisher;
  /** Records this worker as the owner, with the account's JID (never rejects). */
  claim: (jid: string) => Promise<void>;
  /** Where incoming messages and receipts go. */
  messages: {
    onMessages(messages: IncomingMessage[], offline: boolean): void;
    onReceipts(receipts: MessageReceipt[]): void;
    onUpdates(updates: IncomingUpdate[], offline: boolean): void;
    onHistory(chunk: HistoryChunk): void;
  };
  /** Where incoming calls go. */
  calls?: { onCalls(calls: IncomingCall[]): void };
  /** Where group notifications go (session-groups.ts). */
  groups?: { onGroupEvents(events: readonly GroupEvent[]): void };
  /** Before a socket opens: the number's settings are read (once), since the socket is configured with them. */
  prepare?: () => Promise<void>;
  /** The number's settings in force, handed to the connector with every socket. */
  settings?: () => SessionSettings;
  /** After `connected` is published (each open, reconnects included): what the settings ask for on connect. */
  opened?: (conn: WhatsAppConnection) => void;
  /** Where subscribed contacts' presence goes. */
  presence?: { onPresence(updates: readonly ContactPresence[]): void };
  log: Logger;
}

/**
 * A session's WhatsApp socket and the credentials it runs on: opening it, WhatsApp's events
 * handled one at a time in arrival order, and what a close leads to (decided by
 * close-policy.ts, carried out here: state, events, retry timer). Which requestId WhatsApp's
 * events carry is the opening attempt's (see the rule on `Session`).
 */
export class SessionSocket {
  private auth: AuthStateHandle | undefined;
  private conn: WhatsAppConnection | undefined;
  /** Bumped for every socket: events from an older socket are ignored. */
  private generation = 0;
  /** The attempt to reach `connected` under way, if any. */
  private opening: OpeningAttempt | undefined;
  /** The stored credentials are linked ones (loaded so, or flushed since the link). */
  private linkDurable = false;
  private reconnects: ReconnectHistory = NO_HISTORY;
  private readonly retry = new SingleTimer();
  /** The socket's place in the worker-wide opening gate, until it settles (open, QR, close) or is dropped. */
  private slot: OpeningSlot | undefined;
  private chain: Promise<void> = Promise.resolve();
  readonly registration = new RegistrationWait();

  constructor(private readonly parts: SessionSocketParts) {}

  /** The socket, whatever its state (undefined: none open). */
  get connection(): WhatsAppConnection | undefined {
    return this.conn;
  }

  /** The auth state, opened from storage if it is not held yet. */
  async credentials(): Promise<AuthStateHandle> {
    return (this.auth ??= this.hold(await this.parts.deps.store.openAuthState(this.parts.sessionId)));
  }

  /** Restore: hold an auth state the manager already opened (unless one is held). */
  adopt(auth: AuthStateHandle): void {
    this.auth ??= this.hold(auth);
  }

  /** Opens a socket, as a new attempt answering `requestId`. */
  async open(requestId: string | undefined): Promise<void> {
    this.retry.cancel();
    await this.credentials();
    await this.parts.prepare?.();
    this.opening = new OpeningAttempt(requestId, this.parts.deps.telemetry?.current());
    this.openSocket();
  }

  /** A create or request_pairing_code during the attempt under way (if any) joins it. */
  join(requestId: string | undefined): void {
    this.opening?.join(requestId);
  }

  /** Closes the socket (no logout, no event); ends the attempt and any pending retry. */
  close(): void {
    this.retry.cancel();
    this.settle();
    this.generation++;
    this.opening = undefined;
    const conn = this.conn;
    this.conn = undefined;
    conn?.end();
  }

  /**
   * The connection settings changed (a new proxy): the socket under way, or the pending retry, is
   * replaced by a new one opened with them, within the same attempt. Nothing is published for
   * the old socket (its events are ignored from now on). No socket and no retry: nothing to do.
   */
  reopen(): void {
    if (!this.conn && this.parts.state.current.status !== 'reconnecting') return;
    this.retry.cancel();
    this.settle();
    const conn = this.conn;
    this.conn = undefined;
    this.openSocket();
    conn?.end();
  }

  /** Logs out on WhatsApp when connected; the 401 close that follows is ours, not news. */
  async unlinkIfConnected(otherwise: string): Promise<void> {
    const conn = this.conn;
    if (!conn || this.parts.state.current.status !== 'connected') return;
    this.generation++;
    await conn.logout().catch((err) => this.parts.log.warn({ err }, `logout on WhatsApp failed; ${otherwise}`));
  }

  /** Resolves once every WhatsApp event received so far is handled. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Flushes and lets go of the credentials (the next open reads them again). */
  async releaseAuth(): Promise<void> {
    const auth = this.auth;
    this.auth = undefined;
    this.linkDurable = false;
    await auth?.close();
  }

  /** Credentials loaded already linked are already durable: the next `connected` need not wait for a flush. */
  private hold(auth: AuthStateHandle): AuthStateHandle {
    this.linkDurable = auth.isLinked();
    return auth;
  }

  /**
   * A new socket, within the attempt under way (a retry or restart), or a new one without requestId.
   * `slot`: the one a reconnect waited for; any other open (a command, restore, a 515 restart, a
   * reopen) takes one without waiting (opening-gate.ts says why).
   */
  private openSocket(slot?: OpeningSlot): void {
    this.settle();
    this.slot = slot ?? this.gate.take();
    const generation = ++this.generation;
    this.opening ??= new OpeningAttempt(undefined);
    this.parts.state.set({ status: 'starting' });
    const connect = () =>
      this.parts.deps.connector.connect({
        sessionId: this.parts.sessionId,
        auth: this.auth!,
        onEvent: (event) => this.enqueue(() => this.onWhatsApp(generation, event)),
        ...(this.parts.settings ? { settings: this.parts.settings() } : {}),
      });
    // The socket outlives the command that opened it: its events must not all join that command's trace.
    const telemetry = this.parts.deps.telemetry;
    this.conn = telemetry ? telemetry.detached(connect) : connect();
  }

  /** Runs `publish` in a span continuing the opening command's trace (its QR, its `connected`), when there is one. */
  private inOpeningTrace(name: string, trace: TraceRef | undefined, publish: () => void): void {
    const telemetry = this.parts.deps.telemetry;
    if (!telemetry?.enabled || !trace) return publish();
    void telemetry.span(name, {}, async () => publish(), { parent: trace });
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err) => this.parts.log.error({ err }, 'session event handling failed'));
  }

  private get gate() {
    return this.parts.deps.openingGate ?? UNBOUNDED_OPENING_GATE;
  }

  /** The socket's opening phase is over (or abandoned): its slot goes to the next socket waiting. */
  private settle(): void {
    this.slot?.release();
    this.slot = undefined;
  }

  private async onWhatsApp(generation: number, event: WhatsAppEvent): Promise<void> {
    if (generation !== this.generation) return;
    // Connected, waiting for a human (QR), or closed: this socket no longer loads the loop with a handshake.
    if (event.type === 'qr' || event.type === 'open' || event.type === 'close') this.settle();
    switch (event.type) {
      case 'qr':
        return this.onQr(event.qr);
      case 'open':
        return this.onOpen(event.account);
      case 'close':
        return this.onClose(event.statusCode, event.message, event.proxyFailure?.code);
      case 'messages':
        return this.parts.messages.onMessages(event.messages, event.offline);
      case 'receipts':
        return this.parts.messages.onReceipts(event.receipts);
      case 'calls':
        return this.parts.calls?.onCalls(event.calls);
      case 'presence':
        return this.parts.presence?.onPresence(event.updates);
      case 'updates':
        return this.parts.messages.onUpdates(event.updates, event.offline);
      case 'history':
        return this.parts.messages.onHistory(event.chunk);
      case 'groups':
        return this.parts.groups?.onGroupEvents(event.events);
    }
  }

  private async onQr(qr: string): Promise<void> {
    const { state, deps, publisher } = this.parts;
    this.registration.offered();
    // Linking by code: the QR refs keep rotating underneath, but nobody will scan them.
    if (state.current.status === 'awaiting_pairing') return;
    const opening = (this.opening ??= new OpeningAttempt(undefined));
    const { attempt, ttlMs, expiresAt } = opening.nextQr(deps.policy.qrTimeoutMs);
    state.set({ status: 'awaiting_scan', qr, attempt, expiresAt });
    if (attempt === 1) deps.telemetry?.metrics.duration('qr', (performance.now() - opening.startedAt) / 1000);
    deps.printQr?.(qr, `QR ${attempt} for ${this.parts.sessionId} (expires in ${Math.round(ttlMs / 1000)} s)`);
    const qrCode = await deps.renderQr(qr);
    this.inOpeningTrace(
      'whatsapp qr',
      opening.trace,
      () => void publisher.publish('qr_generated', { qrCode, qrString: qr, attempt, expiresAt }, opening.requestId),
    );
  }

  private async onOpen(account: LinkedAccount): Promise<void> {
    const requestId = this.opening?.requestId;
    const trace = this.opening?.trace;
    // A new link (not a restore or a reconnect): how long from opening to linked.
    if (!this.linkDurable && this.opening) this.parts.deps.telemetry?.metrics.duration('link', (performance.now() - this.opening.startedAt) / 1000);
    this.opening = undefined;
    this.reconnects = afterOpen(this.reconnects);
    this.parts.state.set({ status: 'connected', account });
    // `connected` promises a durable link: after a new link, persist the credentials first, so
    // that even a kill right after the event restores without a new scan. Credentials that were
    // loaded linked (a restore, a reconnect) already are durable: what the login changed is
    // written in the next flush window, off the restore's critical path.
    if (!this.linkDurable) {
      await this.auth?.flush().then(
        () => (this.linkDurable = true),
        (err) => this.parts.log.error({ err }, 'could not persist credentials yet; retrying in the background'),
      );
    }
    await this.parts.claim(account.jid);
    this.inOpeningTrace('whatsapp connected', trace, () => {
      void this.parts.publisher.publish('connected', { phoneNumber: account.phoneNumber, jid: account.jid }, requestId);
      void this.parts.publisher.health('HEALTHY', undefined, requestId);
    });
    if (this.conn) this.parts.opened?.(this.conn);
  }

  private async onClose(statusCode: number | undefined, message: string, proxyFailure?: ProxyFailureCode): Promise<void> {
    const { state, deps, publisher, log } = this.parts;
    this.conn = undefined;
    const close = {
      statusCode,
      message,
      linked: this.auth?.isLinked() ?? false,
      qrShown: this.opening?.qrShown ?? false,
      ownershipCertain: deps.ownershipCertain?.() ?? true,
      proxyFailure: proxyFailure !== undefined,
    };
    const { decision, history, verdict } = decideOnClose(close, this.reconnects, deps.policy);
    this.reconnects = history;
    log.info({ statusCode, message, verdict }, 'socket closed');
    deps.telemetry?.metrics.disconnect(verdict);
    const requestId = this.opening?.requestId;
    if (decision.kind !== 'restart' && decision.kind !== 'reconnect') this.opening = undefined;
    switch (decision.kind) {
      case 'restart':
        this.openSocket();
        return;
      case 'reconnect':
        return this.scheduleReconnect(decision, statusCode, requestId, proxyFailure);
      case 'yield':
        // No reconnect, no events: the new owner reports this number now.
        log.warn('replaced while this worker cannot confirm it owns the session: yielding it');
        state.set({ status: 'idle' });
        await this.releaseAuth();
        return;
      case 'give_up':
        state.set({ status: 'stopped', reason: decision.reason });
        await this.releaseAuth();
        void publisher.publish('disconnected', { reason: decision.reason, statusCode, willReconnect: false }, requestId);
        void publisher.health('DISCONNECTED', decision.reason, requestId);
        return;
      case 'qr_expired':
        state.set({ status: 'stopped', reason: 'qr_expired' });
        await this.releaseAuth();
        void publisher.publish('qr_expired', {}, requestId);
        void publisher.health('DISCONNECTED', 'qr_expired', requestId);
        return;
      case 'logged_out':
        await this.releaseAuth();
        await deps.store.removeAuth(this.parts.sessionId).catch((err) => log.error({ err }, 'could not remove credentials'));
        state.set({ status: 'logged_out', reason: decision.reason });
        void publisher.publish('logged_out', { reason: decision.reason }, requestId);
        void publisher.health('LOGGED_OUT', decision.reason, requestId);
        return;
      case 'banned':
        state.set({ status: 'banned', reason: decision.reason });
        await this.releaseAuth();
        void publisher.publish('disconnected', { reason: decision.reason, statusCode, willReconnect: false }, requestId);
        void publisher.health('BANNED', decision.reason, requestId);
        return;
    }
  }

  private scheduleReconnect(
    decision: Extract<CloseDecision, { kind: 'reconnect' }>,
    statusCode: number | undefined,
    requestId: string | undefined,
    proxyFailure: ProxyFailureCode | undefined,
  ): void {
    const { state, publisher } = this.parts;
    state.set({ status: 'reconnecting', attempt: decision.attempt, statusCode, retryAt: Date.now() + decision.delayMs });
    void publisher.publish('disconnected', { reason: decision.reason, statusCode, willReconnect: true, ...(proxyFailure ? { proxyFailure } : {}) }, requestId);
    void publisher.health('RECONNECTING', decision.reason, requestId);
    const generation = this.generation;
    const current = () => generation === this.generation && state.current.status === 'reconnecting';
    // Overdue retries of many sessions fire together (after a CPU stall, all of them): each waits for
    // a slot of the worker-wide gate, staying `reconnecting`. The wait is outside the event chain so
    // that nothing else of the session queues behind it; a session closed, deleted or reopened
    // meanwhile gives its slot straight back and opens nothing.
    this.retry.schedule(decision.delayMs, () => {
      if (!current()) return;
      void this.gate.acquire().then((slot) =>
        this.enqueue(async () => {
          if (current()) this.openSocket(slot);
          else slot.release();
        }),
      );
    });
  }
}
