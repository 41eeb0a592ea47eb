import type { EmulatorServer } from '../../test/emulator/index.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import type { Backend } from './backend.js';
import type { Prng } from './prng.js';

/** A number the worker drives: the backend's numberId, its phone and the worker's session id. */
export interface ChaosNumber {
  numberId: number;
  /** canonical `+<digits>` */
  phone: string;
  digits: string;
  sessionId: string;
}

export const chaosNumber = (i: number): ChaosNumber => {
  const digits = `221775${String(i + 1).padStart(6, '0')}`;
  return { numberId: 100 + i, phone: `+${digits}`, digits, sessionId: `session_${100 + i}_+${digits}` };
};

export const contactPhone = (i: number): string => `1555${String(i + 1).padStart(7, '0')}`;

/** A message a contact sent to a number through the emulator (its id is WhatsApp's). */
export interface Incoming {
  id: string;
  from: string;
  to: ChaosNumber;
  at: number;
}

/** A send_message the backend published. */
export interface Command {
  requestId: string;
  action: string;
  number: ChaosNumber;
  /** send_message: the recipient's digits and the id the contact must receive the message under */
  contact?: string;
  expectedMessageId?: string;
  publishedAt: number;
  /** the broker confirmed it: from then on it must be answered */
  accepted: boolean;
  error?: string;
}

export interface LoadOptions {
  workerId: string;
  runLabel: string;
  /** mean gap between two incoming messages (and between two send_message commands), ms */
  meanGapMs: number;
}

/**
 * The traffic of the run: contacts write to the numbers through the emulator, and the backend
 * publishes send_message commands (unique requestIds) to contacts, both at random intervals.
 * Everything sent is recorded for the invariants.
 */
export class Load {
  readonly incoming: Incoming[] = [];
  incomingErrors: string[] = [];
  readonly commands: Command[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly emu: EmulatorServer,
    private readonly backend: Backend,
    private readonly numbers: ChaosNumber[],
    private readonly contacts: string[],
    private readonly rng: Prng,
    private readonly opts: LoadOptions,
  ) {}

  start(): void {
    this.loops = [this.loop(() => this.sendIncoming()), this.loop(() => this.sendCommand())];
  }

  /** Stops generating; resolves when every command published so far is confirmed or given up. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.all(this.loops);
    await Promise.all([...this.inFlight]);
  }

  /** A command the backend publishes (create, or any other), tracked like the load's own. */
  publish(command: Command, body: Record<string, unknown>, timeoutMs = 60_000): Promise<void> {
    this.commands.push(command);
    const p = this.backend
      .publishCommand(body, timeoutMs)
      .then(() => {
        command.accepted = true;
      })
      .catch((err: Error) => {
        command.error = err.message;
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  private async loop(step: () => Promise<void> | void): Promise<void> {
    while (!this.stopped) {
      await step();
      // an exponential gap: bursts and lulls, as real traffic comes
      const gap = -Math.log(1 - this.rng.next()) * this.opts.meanGapMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(gap, this.opts.meanGapMs * 5));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private async sendIncoming(): Promise<void> {
    const to = this.rng.pick(this.numbers);
    const from = this.rng.pick(this.contacts);
    const n = ++this.seq;
    try {
      const { id } = await this.emu.sendMessage(from, to.digits, `chaos ${this.opts.runLabel} in #${n}`);
      this.incoming.push({ id, from, to, at: Date.now() });
    } catch (err) {
      this.incomingErrors.push((err as Error).message);
    }
  }

  private sendCommand(): void {
    const number = this.rng.pick(this.numbers);
    const contact = this.rng.pick(this.contacts);
    const requestId = `chaos-${this.opts.runLabel}-${++this.seq}`;
    const command: Command = {
      requestId,
      action: 'send_message',
      number,
      contact,
      expectedMessageId: deriveMessageId(number.sessionId, requestId),
      publishedAt: Date.now(),
      accepted: false,
    };
    void this.publish(command, {
      action: 'send_message',
      numberId: number.numberId,
      workerId: this.opts.workerId,
      requestId,
      data: { to: `+${contact}`, type: 'text', text: `chaos ${this.opts.runLabel} out ${requestId}` },
      timestamp: Date.now(),
    });
  }
}
