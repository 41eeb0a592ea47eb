import type { Logger } from 'pino';
import { AmqpConnection } from './broker/amqp-connection.js';
import { ConfirmedPublisher } from './broker/confirmed-publisher.js';
import { QueueConsumer } from './broker/queue-consumer.js';
import { QueueDeclarer } from './broker/queue-declarer.js';
import { declareTopology, workerQueueName } from './broker/topology.js';
import type { Delivery } from './broker/types.js';
import { commandProperties, forwardProperties } from './broker/outgoing-properties.js';
import { createCommandHandler } from './commands/command-handler.js';
import type { Config } from './config/config.js';
import { EventPublisher } from './events/event-publisher.js';
import { SessionManager } from './sessions/session-manager.js';
import type { SessionDeps } from './sessions/session.js';
import type { SessionStore } from './storage/types.js';
import { describeError, WorkerError } from './util/errors.js';
import { randomUUID } from 'node:crypto';
import { SingleTimer } from './util/backoff.js';
import type { WhatsAppConnector } from './whatsapp/types.js';
import { printQrToTerminal, qrToPngDataUrl } from './sessions/qr-image.js';
import { Heartbeat } from './fleet/heartbeat.js';
import { HealthFileWriter } from './fleet/health-file.js';
import type { MediaStore } from './messaging/media-store.js';
import type { MessageHistory } from './messaging/message-history.js';

export interface WorkerParts {
  config: Config;
  logger: Logger;
  store: SessionStore;
  connector: WhatsAppConnector;
  /** Called after sessions are released and before the broker closes (e.g. flush storage). */
  beforeBrokerClose?: () => Promise<void>;
  /** Reported in heartbeats. */
  version?: string;
  /** Media store and message history (flush the history in `beforeBrokerClose`). Omitted: neither. */
  messaging?: { media?: MediaStore | undefined; history?: MessageHistory | undefined };
}

/**
 * The running worker: broker, event publisher, command consumers and sessions, started and
 * stopped in a fixed order. Built by `main.ts` (and by tests, with fakes at the boundaries).
 */
export class Worker {
  readonly connection: AmqpConnection;
  readonly publisher: ConfirmedPublisher;
  readonly events: EventPublisher;
  readonly sessions: SessionManager;
  private readonly declarer: QueueDeclarer;
  private readonly sharedConsumer: QueueConsumer;
  private readonly ownConsumer: QueueConsumer;
  private readonly log: Logger;
  private restored: Promise<unknown> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly heartbeat: Heartbeat;
  private readonly healthFile: HealthFileWriter;
  private brokerDownSince: number | null = Date.now();
  private readonly lease = new SingleTimer();

  constructor(private readonly parts: WorkerParts) {
    const { config, logger } = parts;
    this.log = logger.child({ component: 'worker' });
    this.connection = new AmqpConnection({
      url: config.rabbitmq.url,
      connectionName: `wa-worker ${config.workerId}`,
      logger: logger.child({ component: 'broker' }),
      reconnectMaxDelayMs: config.rabbitmq.reconnectMaxDelayMs,
    });
    // Setup steps run in this order on every (re)connection: topology first.
    this.connection.onConnect(async (conn) => {
      const channel = await conn.createChannel();
      try {
        await declareTopology(channel, config);
      } finally {
        await channel.close().catch(() => undefined);
      }
    });
    this.publisher = new ConfirmedPublisher(this.connection, logger.child({ component: 'publisher' }));
    this.declarer = new QueueDeclarer(this.connection, config);
    this.events = new EventPublisher(
      this.publisher,
      { exchange: config.queues.eventsExchange, workerId: config.workerId, contentType: config.eventsContentType },
      logger.child({ component: 'events' }),
    );

    const deps: SessionDeps = {
      workerId: config.workerId,
      connector: parts.connector,
      store: parts.store,
      events: this.events,
      logger,
      renderQr: qrToPngDataUrl,
      printQr: config.qrTerminal ? printQrToTerminal : undefined,
      messaging: {
        media: parts.messaging?.media,
        history: parts.messaging?.history,
        sendWaitForOpenMs: config.messaging.sendWaitForOpenMs,
        mediaMaxBytes: config.messaging.mediaMaxBytes,
        mediaFetchTimeoutMs: config.messaging.mediaFetchTimeoutMs,
        mediaFetchDeadlineMs: config.messaging.mediaFetchDeadlineMs,
        mediaFetchAllowedHosts: config.messaging.mediaFetchAllowedHosts,
        stats: { sent: 0, received: 0 },
      },
      ownershipCertain: () => this.ownConsumer.isActive,
      ownership: {
        isWorkerRunning: (workerId) => this.isWorkerRunning(workerId),
        requestHandover: (owner, request) => this.sendCommand(owner, { action: 'release', ...request }, request.requestId),
      },
      policy: {
        reconnectBaseDelayMs: config.whatsapp.reconnectBaseDelayMs,
        reconnectMaxDelayMs: config.whatsapp.reconnectMaxDelayMs,
        maxConflicts: config.whatsapp.maxConflicts,
        conflictWindowMs: 10 * 60_000,
        qrTimeoutMs: config.whatsapp.qrTimeoutMs,
        pairingReadyTimeoutMs: 30_000,
        pairingCodeMinIntervalMs: config.pairingCodeMinIntervalMs,
      },
    };
    this.sessions = new SessionManager(deps, {
      maxSessions: config.maxSessions,
      restoreConcurrency: config.restoreConcurrency,
      restoreSettleTimeoutMs: 30_000,
    });

    const common = {
      self: config.workerId,
      maxBytes: config.commandMaxBytes,
      maxMediaBytes: config.messaging.mediaMaxBytes,
      maxAttempts: config.commandMaxAttempts,
      parseLimits: { maxDepth: config.commandMaxDepth, maxAgeMs: config.commandMaxAgeMs, maxClockSkewMs: config.commandMaxClockSkewMs },
      fleet: {
        commandsQueue: config.queues.commands,
        reservedQueues: [config.queues.commands, config.queues.deadLetter, config.queues.sessionEvents, config.queues.numberHealth, config.queues.workerHeartbeat, config.queues.messageEvents],
        workerIds: config.fleetWorkerIds,
      },
      workerUser: config.rabbitmq.user,
      execute: (command: Parameters<SessionManager['execute']>[0]) => this.sessions.execute(command),
      forward: (workerId: string, delivery: Delivery, command: { action: string }, opts?: { toOwner?: boolean }) => this.forward(workerId, delivery, command.action, opts),
      events: this.events,
      logger,
    };
    this.sharedConsumer = new QueueConsumer(this.connection, this.publisher, logger.child({ component: 'consumer' }), {
      queue: config.queues.commands,
      prefetch: config.rabbitmq.prefetch,
      deadLetterQueue: config.queues.deadLetter,
      handler: createCommandHandler({ ...common, source: 'shared' }),
    });
    // The worker's own queue has one exclusive consumer in the whole fleet: the process that
    // holds it is the one that drives this WORKER_ID's sessions; a replica with the same id
    // stands by until the holder's connection goes away.
    this.ownConsumer = new QueueConsumer(this.connection, this.publisher, logger.child({ component: 'consumer' }), {
      queue: config.queues.workerCommands,
      prefetch: config.rabbitmq.prefetch,
      deadLetterQueue: config.queues.deadLetter,
      exclusive: true,
      handler: createCommandHandler({ ...common, source: 'own' }),
    });
    this.ownConsumer.on('active', () => {
      this.restored ??= this.sessions.restore().catch((err) => this.log.error({ err: describeError(err) }, 'restore failed'));
      this.heartbeat.start();
    });
    // Back from a broker outage to find our queue held by another process with our WORKER_ID:
    // it has taken over, so we let every session go (no logout) and stand by.
    this.ownConsumer.on('refused', () => this.letSessionsGo('another process now holds this worker\'s queue'));

    this.heartbeat = new Heartbeat(
      this.events,
      {
        sessionCount: () => this.sessions.liveCount,
        connectedCount: () => this.sessions.connectedCount,
        messageCount: () => this.sessions.messageCount,
      },
      { intervalMs: config.heartbeat.intervalMs, maxSessions: config.maxSessions, version: parts.version ?? '0.0.0' },
      logger.child({ component: 'heartbeat' }),
    );
    this.connection.on('connected', () => {
      this.brokerDownSince = null;
      this.lease.cancel();
      void this.healthFile.write();
    });
    this.connection.on('disconnected', () => {
      this.brokerDownSince ??= Date.now();
      void this.healthFile.write();
      // Sessions keep running through a short outage; past the lease, a replica may own them.
      if (this.restored !== undefined && !this.stopping) this.lease.schedule(config.ownershipLeaseMs, () => this.letSessionsGo('broker unreachable past OWNERSHIP_LEASE_MS'));
    });
    // The health file follows every change of state at once, not only on its timer.
    for (const event of ['active', 'inactive', 'refused']) this.ownConsumer.on(event, () => void this.healthFile.write());
    this.healthFile = new HealthFileWriter(config.health.file, () => ({
      workerId: config.workerId,
      brokerConnected: this.connection.isConnected,
      brokerDownSince: this.brokerDownSince,
      active: this.ownConsumer.isActive,
      sessions: this.sessions.liveCount,
      outboxSize: this.publisher.outboxSize,
      outboxOldestAgeMs: this.publisher.outboxOldestAgeMs,
      unpublishable: this.publisher.unpublishable,
    }));
  }

  /** This process may no longer own its sessions: release them all (no logout) and stand by. */
  private letSessionsGo(why: string): void {
    if (this.restored === undefined) return;
    this.log.warn({ why }, 'releasing every session; they are restored when this process holds its queue again');
    this.restored = undefined;
    void this.heartbeat.stop();
    void this.sessions.shutdown();
  }

  /** A worker is running when its command queue has a consumer (only the active process holds one). */
  private async isWorkerRunning(workerId: string): Promise<boolean> {
    const conn = this.connection.current();
    if (!conn) throw new WorkerError('BROKER_UNAVAILABLE', 'cannot tell whether worker ' + workerId + ' is running');
    const channel = await conn.createChannel();
    channel.on('error', () => undefined);
    try {
      return (await channel.checkQueue(workerQueueName(this.parts.config, workerId))).consumerCount > 0;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return false; // its queue does not even exist
      throw new WorkerError('BROKER_UNAVAILABLE', `cannot tell whether worker ${workerId} is running`, { cause: err });
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Publishes a command (confirmed) onto another worker's own queue. */
  private async sendCommand(workerId: string, command: Record<string, unknown>, correlationId: string | undefined): Promise<void> {
    const queue = workerQueueName(this.parts.config, workerId);
    await this.declarer.ensureCommandQueue(queue);
    // Stamped with our broker user (RabbitMQ checks it): the receiver can tell a worker sent it.
    const properties = commandProperties({
      messageId: randomUUID(),
      action: String(command.action),
      correlationId,
      sentBy: this.parts.config.workerId,
      userId: this.parts.config.rabbitmq.user,
    });
    await this.publisher.publish('', queue, Buffer.from(JSON.stringify({ ...command, workerId })), properties);
  }

  /** `toOwner`: `workerId` drives the session (the command carries `x-forwarded-to-owner`). */
  private async forward(workerId: string, delivery: Delivery, action: string, opts: { toOwner?: boolean } = {}): Promise<void> {
    const queue = workerQueueName(this.parts.config, workerId);
    await this.declarer.ensureCommandQueue(queue);
    // Allow-listed, bounded properties only: a sender's header we cannot re-encode must not stop publishing.
    const properties = forwardProperties(delivery, { forwardedBy: this.parts.config.workerId, action, toOwner: opts.toOwner ? workerId : undefined });
    await this.publisher.publish('', queue, delivery.body, properties);
  }

  /** True once this process holds its worker queue (and so drives its sessions). */
  get isActive(): boolean {
    return this.ownConsumer.isActive;
  }

  waitUntilActive(): Promise<void> {
    if (this.ownConsumer.isActive) return Promise.resolve();
    return new Promise((resolve) => this.ownConsumer.once('active', () => resolve()));
  }

  async start(): Promise<void> {
    for (const warning of this.parts.config.warnings) this.log.warn(warning);
    this.healthFile.start();
    await this.connection.start();
    this.log.info({ queues: this.parts.config.queues, maxSessions: this.parts.config.maxSessions }, 'worker started');
  }

  /**
   * Graceful stop, in this order: stop taking commands, finish the ones in flight, release the
   * sessions (sockets closed without logging out, credentials flushed), flush the storage,
   * publish what is still in the outbox, close the broker. Idempotent; bounded by `timeoutMs`.
   */
  stop(timeoutMs = this.parts.config.shutdownTimeoutMs): Promise<void> {
    this.stopping ??= this.runStop(timeoutMs);
    return this.stopping;
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
        this.log.error({ step: name, err: describeError(err) }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    };
    this.log.info({ timeoutMs }, 'shutting down');
    this.lease.cancel();
    await step('stop consuming', () => Promise.all([this.sharedConsumer.stop(), this.ownConsumer.stop()]));
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
    this.healthFile.stop();
    this.log.info('worker stopped');
  }
}
