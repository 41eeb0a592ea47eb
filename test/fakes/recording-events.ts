import { randomUUID } from 'node:crypto';
import type { Events, EventSubject } from '../../src/events/event-publisher.js';
import type { HealthStatus, MessageEvent, MessageEventAction, NumberHealthEvent, SessionEvent, SessionEventAction } from '../../src/events/catalogue.js';
import { messageEventSchemas, numberHealthSchema, sessionEventSchemas } from '../../src/events/catalogue.js';
import { stableEventId, type MessageSubject } from '../../src/events/event-publisher.js';

/** Records every event, validated against the catalogue, and lets a test await one. */
export class RecordingEvents implements Events {
  readonly sessionEvents: SessionEvent[] = [];
  readonly healthEvents: NumberHealthEvent[] = [];
  readonly messageEvents: MessageEvent[] = [];
  /** While set, message events wait for it (a slow or unreachable broker). */
  messageGate: Promise<void> | undefined;
  /** Message events currently held at the gate. */
  heldAtGate = 0;
  /** The next message event fails with this error (the broker refused it, the publisher closed). */
  failNextMessage: Error | undefined;
  private waiters: Array<() => void> = [];

  constructor(private readonly workerId = 'w-test') {}

  async session<A extends SessionEventAction>(action: A, subject: EventSubject, payload: object): Promise<SessionEvent<A>> {
    const event = {
      action,
      numberId: subject.numberId,
      sessionId: subject.sessionId,
      workerId: this.workerId,
      timestamp: Date.now(),
      eventId: randomUUID(),
      ...(subject.requestId ? { requestId: subject.requestId } : {}),
      ...payload,
    } as SessionEvent<A>;
    sessionEventSchemas[action].parse(event);
    this.sessionEvents.push(event);
    this.wake();
    return event;
  }

  async rejected(subject: { numberId: number; sessionId?: string; requestId?: string }, code: string, reason: string, command?: string): Promise<void> {
    const event = {
      action: 'command_rejected' as const,
      numberId: subject.numberId,
      ...(subject.sessionId ? { sessionId: subject.sessionId } : {}),
      workerId: this.workerId,
      timestamp: Date.now(),
      eventId: randomUUID(),
      code,
      reason,
      ...(command ? { command } : {}),
    };
    sessionEventSchemas.command_rejected.parse(event);
    this.sessionEvents.push(event as SessionEvent);
    this.wake();
  }

  async health(subject: EventSubject, status: HealthStatus, reason?: string): Promise<NumberHealthEvent> {
    const event = numberHealthSchema.parse({
      numberId: subject.numberId,
      sessionId: subject.sessionId,
      workerId: this.workerId,
      status,
      ...(reason ? { reason } : {}),
      timestamp: Date.now(),
      eventId: randomUUID(),
      ...(subject.requestId ? { requestId: subject.requestId } : {}),
    });
    this.healthEvents.push(event);
    this.wake();
    return event;
  }

  async message<A extends MessageEventAction>(action: A, subject: MessageSubject, payload: object): Promise<MessageEvent<A>> {
    if (this.messageGate) {
      this.heldAtGate++;
      this.wake();
      await this.messageGate;
      this.heldAtGate--;
    }
    if (this.failNextMessage) {
      const err = this.failNextMessage;
      this.failNextMessage = undefined;
      throw err;
    }
    const event = {
      action,
      numberId: subject.numberId,
      ...(subject.sessionId ? { sessionId: subject.sessionId } : {}),
      workerId: this.workerId,
      timestamp: Date.now(),
      eventId: subject.eventKey ? stableEventId(subject.eventKey) : randomUUID(),
      ...(subject.requestId ? { requestId: subject.requestId } : {}),
      ...payload,
    } as MessageEvent<A>;
    messageEventSchemas[action].parse(event);
    this.messageEvents.push(event);
    this.wake();
    return event;
  }

  messages<A extends MessageEventAction>(action: A): Array<MessageEvent<A>> {
    return this.messageEvents.filter((e): e is MessageEvent<A> => e.action === action);
  }

  actions(): string[] {
    return this.sessionEvents.map((e) => e.action);
  }

  statuses(): string[] {
    return this.healthEvents.map((e) => e.status);
  }

  /** Resolves once `predicate` holds (checked after every recorded event). */
  async until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; events so far: ${this.actions().join(', ')} | health: ${this.statuses().join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export const _fits = new RecordingEvents() satisfies Events;
