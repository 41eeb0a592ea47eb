/**
 * "Restore must not starve live traffic" (issue 15): while a worker restores thousands of
 * sessions, the backend keeps using it. Once a second this publishes, to that same worker (its
 * sessions are routed to it by workerId, as the backend routes them):
 * - a `create` for a new number → its first `qr_generated` (QR latency of a newcomer);
 * - a `send_message` from a number the worker already restored (the first one to connect) → its
 *   `message_sent` (send latency of a live number).
 * Each sample is tagged with the phase it was published in: `during` the restore, or `after` it
 * (the same worker, all sessions open: the reference). Probes are not awaited one by one, so a
 * starved worker shows as long latencies, not as fewer probes; a probe with no answer within
 * `answerTimeoutMs` counts as lost.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchBroker } from './broker.js';
import { nextNumber } from './seed.js';

export type Phase = 'during' | 'after';

export interface ProbeSamples {
  qr: Record<Phase, number[]>;
  send: Record<Phase, number[]>;
  lost: { qr: number; send: number };
}

export class LiveProbes {
  readonly samples: ProbeSamples = { qr: { during: [], after: [] }, send: { during: [], after: [] }, lost: { qr: 0, send: 0 } };
  phase: Phase = 'during';
  private sender: { numberId: number; phone: string } | undefined;
  private stopped = false;
  private readonly pending = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly broker: BenchBroker,
    private readonly workerId: string,
    private readonly contact: string,
    private readonly opts: { intervalMs: number; answerTimeoutMs: number },
  ) {}

  /** The number the send probes use (a session the worker has restored). */
  setSender(sender: { numberId: number; phone: string }): void {
    this.sender ??= sender;
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        this.track(this.qrProbe());
        if (this.sender) this.track(this.sendProbe(this.sender));
        await sleep(this.opts.intervalMs);
      }
    })();
  }

  /** Stops probing and waits for the probes in flight (each bounded by its answer timeout). */
  async stop(): Promise<ProbeSamples> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.pending]);
    return this.samples;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async qrProbe(): Promise<void> {
    const phase = this.phase;
    const { numberId, phone } = nextNumber();
    const answer = this.broker.events.collect(
      (b) => b?.action === 'qr_generated' && b.numberId === numberId && b.attempt === 1,
      1,
      this.opts.answerTimeoutMs,
      'probe qr_generated',
    );
    const t0 = this.broker.publishCommand({
      sessionId: numberId,
      action: 'create',
      data: { numberId, phoneNumber: phone, workerId: this.workerId },
      timestamp: Date.now(),
    });
    try {
      const [m] = await answer;
      this.samples.qr[phase].push(m!.at - t0);
    } catch {
      this.samples.lost.qr++;
    }
  }

  private async sendProbe(sender: { numberId: number; phone: string }): Promise<void> {
    const phase = this.phase;
    const requestId = `probe-${randomUUID()}`;
    const answer = this.broker.messages.collect(
      (b) => b?.action === 'message_sent' && b.requestId === requestId,
      1,
      this.opts.answerTimeoutMs,
      'probe message_sent',
    );
    const t0 = this.broker.publishCommand({
      sessionId: sender.numberId,
      action: 'send_message',
      requestId,
      data: { numberId: sender.numberId, phoneNumber: sender.phone, workerId: this.workerId, to: this.contact, type: 'text', text: 'live traffic probe' },
    });
    try {
      const [m] = await answer;
      this.samples.send[phase].push(m!.at - t0);
    } catch {
      this.samples.lost.send++;
    }
  }
}
