import type { Logger } from 'pino';
import { AmqpConnection } from './broker/amqp-connection.js';
import { ConfirmedPublisher } from './broker/confirmed-publisher.js';
import { OutboxJournal } from './broker/outbox-journal.js';
import { QueueConsumer } from './broker/queue-consumer.js';
import { declareTopology } from './broker/topology.js';
import { WorkerQueues } from './broker/worker-queues.js';
import { createCommandHandler, type CommandHandlerDeps } from './commands/command-handler.js';
import { proxyPolicyOf, type Config } from './config/config.js';
import { EventPublisher } from './events/event-publisher.js';
import { HealthFileWriter } from './fleet/health-file.js';
import { Heartbeat } from './fleet/heartbeat.js';
import { drivesSessions, OwnershipLease, type StateListener, type WorkerState } from './fleet/ownership-lease.js';
import type { MediaStore } from './storage/media-store.js';
import { MessageCounters } from './messaging/message-counters.js';
import type { MessageHistory } from './messaging/message-history.js';
import type { PollArchive } from './messaging/poll-archive.js';
import { printQrToTerminal, qrToPngDataUrl } from './sessions/qr-image.js';
import { SessionManager } from './sessions/session-manager.js';
import { OpeningGate } from './sessions/opening-gate.js';
import { SendPacer, wakeableSleep } from './messaging/send-pacer.js';
import { pacedExecute } from './messaging/paced-execution.js';
import { sessionPacing, simulateTyping } from './sessions/session-pacing.js';
import { postponeDelivery } from './broker/delay-queue.js';
import type { SessionStore } from './storage/types.js';

import type { WhatsAppConnector } from './whatsapp/types.js';
import type { Publisher } from './broker/types.js';
import { noopTelemetry } from './telemetry/noop-telemetry.js';
import { tracedPublisher } from './telemetry/traced-publisher.js';
import { instrumentedStore } from './telemetry/instrumented-store.js';
import type { Telemetry } from './telemetry/types.js';

export type { WorkerState } from './fleet/ownership-lease.js';

export interface WorkerParts {
  config: Config;
  logger: Logger;
  store: SessionStore;
  connector: WhatsAppConnector;
  /** Called after sessions are closed and before the broker closes (e.g. flush storage). */
  beforeBrokerClose?: () => Promise<void>;
  /** Reported in heartbeats. */
  version?: string;
  /** Media store, message history (flush it in `beforeBrokerClose`) and sent polls' archive. Omitted: none. */
  messaging?: { media?: MediaStore | undefined; history?: MessageHistory | undefined; polls?: PollArchive | undefined };
  /** Traces and metrics (built by `main.ts` when OTLP is configured); omitted: the no-op. Flushed last on stop. */
  telemetry?: Telemetry | undefined;
}

/**
 * The running worker: broker, event publisher, command consumers and sessions, started and
 * stopped in a fixed order. Built by `compose.ts` (and by tests, with fakes at the boundaries).
 * Its state (`getState()`) belongs to `OwnershipLease`; other workers' queues to `WorkerQueues`.
 */
export class Worker {
  readonly connection: AmqpConnection;
  readonly publisher: ConfirmedPublisher;
  readonly events: EventPublisher;
  readonly sessions: SessionManager;
  private readonly log: Logger;
  private readonly lease: OwnershipLease;
  private readonly sharedConsumer: QueueConsumer;
  private readonly ownConsumer: QueueConsumer;
  private readonly heartbeat: Heartbeat;
  private readonly healthFile: HealthFileWriter;
  /** Messages sent and received since start: sessions count, heartbeats read. */
  private readonly counters = new MessageCounters();
  /** Send pacing (README "Send pacing"): paced sends wait here, outside their number's lane. */
  readonly pacer: SendPacer;
  private stopRun: Promise<void> | undefined;
  private readonly telemetry: Telemetry;

  constructor(private readonly parts: WorkerParts) {
    const { config, logger } = parts;
    this.log = logger.child({ component: 'worker' });
    const lease = (this.lease = new OwnershipLease({ leaseMs: config.ownershipLeaseMs, logger: this.log }));

    // Setup steps run in registration order on every (re)connection: topology first, then the
    // publisher's channel, the declarer's, and the consumers.
    const connection = (this.connection = new AmqpConnection({
      url: config.rabbitmq.urls,
      connectionName: `wa-worker ${config.workerId}`,
      logger: logger.child({ component: 'broker' }),
      reconnectMaxDelayMs: config.rabbitmq.reconnectMaxDelayMs,
    }));
    connection.onConnect(async (conn) => {
      const channel = await conn.createChannel();
      try {
        await declareTopology(channel, config);
      } finally {
        await channel.close().catch(() => undefined);
      }
    });
    const publisher = (this.publisher = new ConfirmedPublisher(connection, logger.child({ component: 'publisher' }), undefined, {
      journal: OutboxJournal.open({ ...config.outbox, logger: logger.child({ component: 'outbox-journal' }) }),
    }));
    const telemetry = (this.telemetry = parts.telemetry ?? noopTelemetry);
    // With telemetry on, every publish is a producer span carrying its traceparent (outbox-journaled with the headers).
    const traced: Publisher = telemetry.enabled ? tracedPublisher(publisher, telemetry) : publisher;
    const store = telemetry.enabled ? instrumentedStore(parts.store, config.storage.minio ? 's3' : 'local', telemetry.metrics) : parts.store;
    const workerQueues = new WorkerQueues(connection, traced, config, { self: config.workerId, brokerUser: config.rabbitmq.user });
    const events = (this.events = new EventPublisher(
      traced,
      { exchange: config.queues.eventsExchange, workerId: config.workerId, contentType: config.eventsContentType },
      logger.child({ component: 'events' }),
    ));

    const sessions = (this.sessions = new SessionManager(
      {
        workerId: config.workerId,
        connector: parts.connector,
        store,
        events,
        telemetry,
        logger,
        openingGate: new OpeningGate({ max: config.socketsOpeningMax }),
        renderQr: qrToPngDataUrl,
        printQr: config.qrTerminal ? printQrToTerminal : undefined,
        settingsDefaults: config.sessionDefaults,
        messaging: {
          media: parts.messaging?.media,
          history: parts.messaging?.history,
          polls: parts.messaging?.polls,
          sendWaitForOpenMs: config.messaging.sendWaitForOpenMs,
          mediaMaxBytes: config.messaging.mediaMaxBytes,
          mediaFetchTimeoutMs: config.messaging.mediaFetchTimeoutMs,
          mediaFetchDeadlineMs: config.messaging.mediaFetchDeadlineMs,
          mediaFetchAllowedHosts: config.messaging.mediaFetchAllowedHosts,
          historyEventBatch: config.messaging.historyEventBatch,
          counters: this.counters,
          telemetry,
        },
        ownershipCertain: () => lease.state.kind === 'active',
        ownership: {
          isWorkerRunning: (workerId) => workerQueues.isWorkerRunning(workerId),
          requestHandover: (owner, request) => workerQueues.sendCommand(owner, { action: 'release', ...request }, request.requestId),
        },
        policy: {
          reconnectBaseDelayMs: config.whatsapp.reconnectBaseDelayMs,
          reconnectMaxDelayMs: config.whatsapp.reconnectMaxDelayMs,
          maxConflicts: config.whatsapp.maxConflicts,
          conflictWindowMs: config.whatsapp.conflictWindowMs,
          qrTimeoutMs: config.whatsapp.qrTimeoutMs,
          pairingReadyTimeoutMs: config.whatsapp.pairingReadyTimeoutMs,
          pairingCodeMinIntervalMs: config.pairingCodeMinIntervalMs,
        },
      },
      { maxSessions: config.maxSessions, restoreConcurrency: config.restoreConcurrency, restoreSettleTimeoutMs: config.restoreSettleTimeoutMs },
    ));

    const warmUp = { days: config.pacing.warmupDays, perMinute: config.pacing.warmupPerMinute };
    const pacer = (this.pacer = new SendPacer({
      now: Date.now,
      sleep: wakeableSleep,
      maxHoldMs: config.pacing.maxHoldMs,
      // Half the prefetch at most is held by paced sends: the rest keeps room for other commands.
      maxHeld: Math.max(1, Math.floor(config.rabbitmq.prefetch / 2)),
      pacingFor: async (numberId) => {
        // A send redelivered after a restart waits for its number to be restored: paced like any other, not let through.
        await sessions.whenRestored(numberId);
        const session = sessions.list().find((s) => s.numberId === numberId && s.live);
        return session ? sessionPacing(session, warmUp, (toJid, ms) => simulateTyping(session, toJid, ms)) : undefined;
      },
    }));

    const handlerDeps: Omit<CommandHandlerDeps, 'source'> = {
      self: config.workerId,
      maxBytes: config.commandMaxBytes,
      maxMediaBytes: config.messaging.mediaMaxBytes,
      maxAttempts: config.commandMaxAttempts,
      parseLimits: {
        maxDepth: config.commandMaxDepth,
        maxAgeMs: config.commandMaxAgeMs,
        maxClockSkewMs: config.commandMaxClockSkewMs,
        maxCheckNumbers: config.checkNumbersMaxBatch,
        proxyPolicy: proxyPolicyOf(config),
      },
      fleet: {
        commandsQueue: config.queues.commands,
        reservedQueues: [
          config.queues.commands,
          config.queues.deadLetter,
          config.queues.sessionEvents,
          config.queues.numberHealth,
          config.queues.workerHeartbeat,
          config.queues.messageEvents,
        ],
        workerIds: config.fleetWorkerIds,
      },
      workerUser: config.rabbitmq.user,
      execute: pacedExecute(
        pacer,
        (command) => sessions.execute(command),
        (delivery, command, ttlMs) => postponeDelivery(traced, config, delivery, command.action, ttlMs),
        config.pacing,
      ),
      forward: (workerId, delivery, command, opts) => workerQueues.forward(workerId, delivery, command.action, opts),
      events,
      telemetry,
      logger,
    };
    const consumerLog = logger.child({ component: 'consumer' });
    const consumerOptions = { prefetch: config.rabbitmq.prefetch, deadLetterQueue: config.queues.deadLetter };
    this.sharedConsumer = new QueueConsumer(connection, traced, consumerLog, {
      ...consumerOptions,
      queue: config.queues.commands,
      handler: createCommandHandler({ ...handlerDeps, source: 'shared' }),
    });
    // The worker's own queue has one exclusive consumer in the whole fleet: the process that
    // holds it is the one that drives this WORKER_ID's sessions; a replica with the same id
    // stands by until the holder's connection goes away.
    this.ownConsumer = new QueueConsumer(connection, traced, consumerLog, {
      ...consumerOptions,
      queue: config.queues.workerCommands,
      exclusive: true,
      exclusiveRetryMs: config.standbyRetryMs,
      handler: createCommandHandler({ ...handlerDeps, source: 'own' }),
    });

    this.heartbeat = new Heartbeat(
      events,
      {
        sessionCount: () => sessions.liveCount,
        connectedCount: () => sessions.connectedCount,
        messageCount: () => this.counters.total,
        pacing: () => pacer.backlog(),
      },
      { intervalMs: config.heartbeat.intervalMs, maxSessions: config.maxSessions, version: parts.version ?? '0.0.0' },
      logger.child({ component: 'heartbeat' }),
    );
    telemetry.metrics.observe({
      sessionsByState: () => {
        const byState: Record<string, number> = {};
        for (const s of sessions.list()) byState[s.status] = (byState[s.status] ?? 0) + 1;
        return byState;
      },
      outboxDepth: () => publisher.outboxSize,
      pacingQueued: () => pacer.heldCount,
    });
    this.healthFile = new HealthFileWriter(config.health.file, () => ({
      workerId: config.workerId,
      brokerConnected: connection.isConnected,
      brokerDownSince: lease.brokerDownSince,
      active: this.isActive,
      sessions: sessions.liveCount,
      outboxSize: publisher.outboxSize,
      outboxOldestAgeMs: publisher.outboxOldestAgeMs,
      unpublishable: publisher.unpublishable,
      outboxJournaled: publisher.journalStats.journaled,
      outboxJournalBytes: publisher.journalStats.bytes,
    }));

    // Every part exists: only now the callbacks that tie them together.
    this.ownConsumer.on('active', () => lease.queueHeld());
    // A dropped connection closes the consumer's channel before the connection reports itself
    // lost: decide on the next turn, when `brokerLost` has been told (a cut-off, not a reclaim).
    this.ownConsumer.on('inactive', () =>
      setImmediate(() => {
        if (!this.ownConsumer.isActive) lease.queueLost(connection.isConnected);
      }),
    );
    this.ownConsumer.on('refused', () => lease.queueRefused());
    connection.on('connected', () => lease.brokerBack());
    connection.on('disconnected', () => lease.brokerLost());
    lease.onChange((next, previous) => this.follow(next, previous));
    // The health file follows every change at once, not only on its timer.
    for (const event of ['connected', 'disconnected']) connection.on(event, () => void this.healthFile.write());
    lease.onChange(() => void this.healthFile.write());
  }

  /** Acts on a change of state: restore the sessions on taking the queue, stand down on losing it. */
  private follow(next: WorkerState, previous: WorkerState): void {
    if (next.kind === 'active' && !drivesSessions(previous)) this.driveSessions();
    else if (next.kind === 'standby' && drivesSessions(previous)) this.standDown();
  }

  /** This process holds its queue: restore its sessions from storage and announce it (`worker_online`). */
  private driveSessions(): void {
    this.sessions.restore().catch((err) => this.log.error({ err }, 'restore failed'));
    this.heartbeat.start();
  }

  /**
   * Another process may own the sessions now: stop driving them (sockets closed, no logout; the
   * owner restores them from the shared storage) and say so (`worker_offline`).
   */
  private standDown(): void {
    void this.heartbeat.stop();
    // Held paced sends are back in the queue for the new holder: they must not run on closed sessions here.
    this.pacer.releaseHeld();
    void this.sessions.shutdown();
  }

  getState(): WorkerState {
    return this.lease.state;
  }

  /** Resolves with the first state (the current one included) that `accept` accepts. */
  waitForState(accept: (state: WorkerState) => boolean): Promise<WorkerState> {
    return this.lease.waitFor(accept);
  }

  /** Calls `listener` after every change of state; returns the function that removes it. */
  onStateChange(listener: StateListener): () => void {
    return this.lease.onChange(listener);
  }

  /** True while this process holds its worker queue (and so drives its sessions). */
  get isActive(): boolean {
    return this.lease.state.kind === 'active';
  }

  async waitUntilActive(): Promise<void> {
    await this.waitForState((s) => s.kind === 'active');
  }

  /** Commands settled (acked, requeued or dead-lettered) since start, per queue: the shared router and this worker's own. */
  get commandsSettled(): { readonly shared: number; readonly own: number } {
    return { shared: this.sharedConsumer.handled, own: this.ownConsumer.handled };
  }

  async start(): Promise<void> {
    for (const warning of this.parts.config.warnings) this.log.warn(warning);
    this.healthFile.start();
    await this.connection.start();
    this.log.info({ queues: this.parts.config.queues, maxSessions: this.parts.config.maxSessions }, 'worker started');
  }

  /**
   * Graceful stop, in this order: stop taking commands, finish the ones in flight, close the
   * sessions (sockets closed without logging out, credentials flushed), flush the storage,
   * publish what is still in the outbox, close the broker. Idempotent; bounded by `timeoutMs`.
   */
  stop(timeoutMs = this.parts.config.shutdownTimeoutMs): Promise<void> {
    this.stopRun ??= this.runStop(timeoutMs);
    return this.stopRun;
  }

  private async runStop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    const step = async (name: string, fn: () => Promise<unknown>) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), left())))]);
        this.log.info({ step: name, ms: Date.now() - started }, 'shutdown step done');
      } catch (err) {
        this.log.error({ step: name, err }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    };
    this.log.info({ timeoutMs }, 'shutting down');
    this.lease.stopping();
    await step('stop consuming', () => Promise.all([this.sharedConsumer.stop(), this.ownConsumer.stop()]));
    // Paced sends still waiting go back to the queue (unacked) instead of holding up the stop.
    this.pacer.stop();
    await step('finish commands in flight', () => Promise.all([this.sharedConsumer.drain(), this.ownConsumer.drain()]));
    await step('release sessions', () => this.sessions.shutdown());
    if (this.parts.beforeBrokerClose) await step('flush storage', this.parts.beforeBrokerClose);
    await step('publish worker_offline', () => this.heartbeat.stop());
    await step('publish outbox', () => this.publisher.flush(left()));
    await step('close broker', async () => {
      await Promise.all([this.sharedConsumer.close(), this.ownConsumer.close()]);
      this.publisher.close();
      await this.connection.close();
    });
    // Last: the spans of everything above are ended; a collector that is down costs at most what is left.
    if (this.telemetry.enabled) await step('flush telemetry', () => this.telemetry.shutdown(left()));
    this.healthFile.stop();
    this.lease.stopped();
    this.log.info('worker stopped');
  }
}
