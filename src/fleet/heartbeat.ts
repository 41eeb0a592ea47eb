import type { Logger } from 'pino';
import type { EventPublisher, WorkerSnapshot } from '../events/event-publisher.js';
import type { WorkerEventAction } from '../events/catalogue.js';

import { ProcessMetrics } from './process-metrics.js';
import type { PacingBacklog } from '../messaging/send-pacer.js';

export interface HeartbeatSource {
  sessionCount(): number;
  connectedCount(): number;
  messageCount(): number;
  /** Send pacing: the numbers most behind (bounded list); omitted from the event when empty. */
  pacing?(): PacingBacklog[];
}

/**
 * `worker_online` when the worker holds its queue, `worker_heartbeat` every interval, and
 * `worker_offline` on a graceful stop, on the bounded `whatsapp.worker.heartbeat` queue.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly metrics = new ProcessMetrics();

  constructor(
    private readonly events: EventPublisher,
    private readonly source: HeartbeatSource,
    private readonly opts: { intervalMs: number; maxSessions: number; version: string },
    private readonly logger: Logger,
  ) {}

  snapshot(status: 'online' | 'offline'): WorkerSnapshot {
    const pacing = this.source.pacing?.() ?? [];
    return {
      ...(pacing.length ? { pacing } : {}),
      status,
      sessionCount: this.source.sessionCount(),
      connectedCount: this.source.connectedCount(),
      maxSessions: this.opts.maxSessions,
      messageCount: this.source.messageCount(),
      version: this.opts.version,
      ...this.metrics.sample(),
    };
  }

  start(): void {
    if (this.timer) return;
    void this.send('worker_online', 'online');
    this.timer = setInterval(() => void this.send('worker_heartbeat', 'online'), this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the beat and reports the worker offline (awaiting the broker's confirm). */
  async stop(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.send('worker_offline', 'offline');
  }

  private async send(action: WorkerEventAction, status: 'online' | 'offline'): Promise<void> {
    try {
      await this.events.worker(action, this.snapshot(status));
    } catch (err) {
      this.logger.warn({ err, action }, 'could not publish heartbeat');
    }
  }
}
