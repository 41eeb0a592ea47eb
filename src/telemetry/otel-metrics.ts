import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import type { DurationKind, Metrics, ObservedState } from './types.js';

/** Latency buckets (s) from a fast confirm (ms) to a slow QR scan or restore (minutes). */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Bounds an attribute value that may come from outside (an action name, a reason): at most 64 characters. */
const label = (value: string) => (value.length > 64 ? value.slice(0, 64) : value);

/** The named instruments of README "Traces and metrics", on an OpenTelemetry meter. */
export class OtelMetrics implements Metrics {
  private readonly commands: Counter;
  private readonly publish: Histogram;
  private readonly durations: Record<DurationKind, Histogram>;
  private readonly disconnects: Counter;
  private readonly storageOps: Counter;
  private readonly storageErrors: Counter;
  readonly spansDropped: Counter;

  constructor(private readonly meter: Meter) {
    const seconds = (name: string, description: string) =>
      meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: SECONDS_BUCKETS } });
    this.commands = meter.createCounter('wa_worker.commands', {
      description: 'Commands settled, by action, outcome (ack, retry, dead_letter) and queue (shared: routed, own: executed)',
    });
    this.publish = seconds('wa_worker.event.publish.duration', 'From publishing a message to the broker confirming it');
    this.durations = {
      qr: seconds('wa_worker.qr.duration', 'From opening a session to linking to its first QR code'),
      link: seconds('wa_worker.link.duration', 'From opening a session to linking to it being connected'),
      restore: seconds('wa_worker.restore.duration', 'Restoring one stored session until it settles (connected or not)'),
      send: seconds('wa_worker.send.duration', 'WhatsApp taking one send_message (the socket send)'),
    };
    this.disconnects = meter.createCounter('wa_worker.whatsapp.disconnects', { description: 'WhatsApp connections closed, by classified reason' });
    this.storageOps = meter.createCounter('wa_worker.storage.operations', { description: 'Session store operations, by operation and driver' });
    this.storageErrors = meter.createCounter('wa_worker.storage.errors', { description: 'Session store operations that failed, by operation and driver' });
    this.spansDropped = meter.createCounter('wa_worker.telemetry.spans.dropped', {
      description: 'Spans the OTLP exporter could not deliver (collector down or slow)',
    });
  }

  commandSettled(action: string, outcome: 'ack' | 'retry' | 'dead_letter', queue: 'shared' | 'own'): void {
    this.commands.add(1, { action: label(action), outcome, queue });
  }

  eventPublished(seconds: number, ok: boolean): void {
    this.publish.record(seconds, { outcome: ok ? 'confirmed' : 'failed' });
  }

  duration(kind: DurationKind, seconds: number, attributes?: Record<string, string>): void {
    this.durations[kind].record(seconds, attributes);
  }

  disconnect(reason: string): void {
    this.disconnects.add(1, { reason: label(reason) });
  }

  storageOperation(op: string, driver: string, ok: boolean): void {
    this.storageOps.add(1, { op, driver });
    if (!ok) this.storageErrors.add(1, { op, driver });
  }

  observe(state: ObservedState): void {
    const sessions = this.meter.createObservableGauge('wa_worker.sessions', { description: 'Sessions of this worker, by state' });
    sessions.addCallback((result) => {
      for (const [s, n] of Object.entries(state.sessionsByState())) result.observe(n, { state: s });
    });
    this.meter
      .createObservableGauge('wa_worker.outbox.depth', { description: 'Messages waiting for the broker to confirm them (the outbox)' })
      .addCallback((result) => result.observe(state.outboxDepth()));
    this.meter
      .createObservableGauge('wa_worker.pacing.queued', { description: 'Sends held by send pacing, waiting for their time' })
      .addCallback((result) => result.observe(state.pacingQueued()));
  }
}
