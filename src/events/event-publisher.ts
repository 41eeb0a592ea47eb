import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Publisher } from '../broker/types.js';
import { ROUTING } from '../broker/routing-keys.js';
import {
  workerEventSchemas,
  type WorkerEvent,
  type WorkerEventAction,
  numberHealthSchema,
  messageEventSchemas,
  type MessageEvent,
  type MessageEventAction,
  sessionEventSchemas,
  type HealthStatus,
  type NumberHealthEvent,
  type SessionEvent,
  type SessionEventAction,
} from './catalogue.js';

/** A UUID (RFC 9562 version 8: application-defined) derived from `key`: the same key, the same id. */
export function stableEventId(key: string): string {
  const b = createHash('sha256').update('wa-worker/event/v1\0').update(key).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Who an event is about. */
export interface EventSubject {
  numberId: number;
  sessionId: string;
  requestId?: string | undefined;
}

/** Who a message event is about: `sessionId` may be unknown for a send naming no known session. */
export interface MessageSubject {
  numberId: number;
  sessionId?: string | undefined;
  requestId?: string | undefined;
  /**
   * What the event reports, when it can be reported again (a message WhatsApp redelivers after a
   * crash): the eventId is derived from it, so the re-publication carries the same eventId.
   */
  eventKey?: string | undefined;
}

export type MessagePayload<A extends MessageEventAction> = Omit<
  MessageEvent<A>,
  'action' | 'numberId' | 'sessionId' | 'workerId' | 'timestamp' | 'eventId' | 'requestId'
>;

type Payload<A extends SessionEventAction> = Omit<SessionEvent<A>, 'action' | 'numberId' | 'sessionId' | 'workerId' | 'timestamp' | 'eventId' | 'requestId'>;

/** The narrow interface the session logic publishes through (faked in unit tests). */
export interface Events {
  session<A extends SessionEventAction>(action: A, subject: EventSubject, payload: Payload<A>): Promise<SessionEvent<A>>;
  health(subject: EventSubject, status: HealthStatus, reason?: string): Promise<NumberHealthEvent>;
  /** `command_rejected` when not even a session id is known (only the numberId). */
  rejected(
    subject: { numberId: number; sessionId?: string | undefined; requestId?: string | undefined },
    code: string,
    reason: string,
    command?: string,
  ): Promise<void>;
  /** Message events (`message.<action>`), resolved once the broker confirmed them. */
  message<A extends MessageEventAction>(action: A, subject: MessageSubject, payload: MessagePayload<A>): Promise<MessageEvent<A>>;
}

/** What a worker reports about itself (heartbeats). */
export type WorkerSnapshot = Omit<WorkerEvent, 'action' | 'workerId' | 'timestamp' | 'eventId'>;

/**
 * The one publisher of events: adds the envelope (eventId, timestamp, workerId), checks the
 * event against its catalogue schema, and publishes it persistent and confirmed on the events
 * exchange with the action as the AMQP `type` and the eventId as the message id.
 */
export class EventPublisher implements Events {
  constructor(
    private readonly publisher: Publisher,
    private readonly opts: { exchange: string; workerId: string; contentType: string },
    private readonly logger: Logger,
  ) {}

  async session<A extends SessionEventAction>(action: A, subject: EventSubject, payload: Payload<A>): Promise<SessionEvent<A>> {
    const event = { ...this.envelope(action, subject), ...payload } as SessionEvent<A>;
    await this.emit(sessionEventSchemas[action], ROUTING.sessionEvent(action), event, subject.requestId);
    return event;
  }

  async message<A extends MessageEventAction>(action: A, subject: MessageSubject, payload: MessagePayload<A>): Promise<MessageEvent<A>> {
    const event = { ...this.envelope(action, subject), ...payload } as MessageEvent<A>;
    await this.emit(messageEventSchemas[action], ROUTING.messageEvent(action), event, subject.requestId);
    return event;
  }

  async rejected(
    subject: { numberId: number; sessionId?: string | undefined; requestId?: string | undefined },
    code: string,
    reason: string,
    command?: string,
  ): Promise<void> {
    const event = { ...this.envelope('command_rejected', subject), code, reason, ...(command ? { command } : {}) } as SessionEvent<'command_rejected'>;
    await this.emit(sessionEventSchemas.command_rejected, ROUTING.sessionEvent('command_rejected'), event, subject.requestId);
  }

  /** What every session and message event starts with. */
  private envelope(
    action: string,
    subject: { numberId: number; sessionId?: string | undefined; requestId?: string | undefined; eventKey?: string | undefined },
  ) {
    return {
      action,
      numberId: subject.numberId,
      ...(subject.sessionId ? { sessionId: subject.sessionId } : {}),
      workerId: this.opts.workerId,
      timestamp: Date.now(),
      eventId: subject.eventKey ? stableEventId(subject.eventKey) : randomUUID(),
      ...(subject.requestId ? { requestId: subject.requestId } : {}),
    };
  }

  private async emit(
    schema: Parameters<EventPublisher['check']>[0],
    routingKey: string,
    event: { action: string; eventId: string },
    requestId: string | undefined,
  ): Promise<void> {
    this.check(schema, event);
    await this.send(routingKey, event.action, event, requestId);
  }

  async health(subject: EventSubject, status: HealthStatus, reason?: string): Promise<NumberHealthEvent> {
    const event: NumberHealthEvent = {
      numberId: subject.numberId,
      sessionId: subject.sessionId,
      workerId: this.opts.workerId,
      status,
      ...(reason ? { reason } : {}),
      timestamp: Date.now(),
      eventId: randomUUID(),
      ...(subject.requestId ? { requestId: subject.requestId } : {}),
    };
    this.check(numberHealthSchema, event);
    await this.send(ROUTING.health(status), 'number_health', event, subject.requestId);
    return event;
  }

  async worker(action: WorkerEventAction, snapshot: WorkerSnapshot): Promise<WorkerEvent> {
    const event = { action, workerId: this.opts.workerId, ...snapshot, timestamp: Date.now(), eventId: randomUUID() } as WorkerEvent;
    this.check(workerEventSchemas[action], event);
    await this.send(ROUTING.worker(action), action, event, undefined);
    return event;
  }

  private check(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, event: object): void {
    const result = schema.safeParse(event);
    // A mismatch is our bug, not the backend's: say so loudly, but still deliver the event.
    if (!result.success)
      this.logger.error({ action: (event as { action?: string }).action, issues: String(result.error) }, 'event does not match its catalogue schema');
  }

  private async send(routingKey: string, type: string, event: { eventId: string }, correlationId: string | undefined): Promise<void> {
    await this.publisher.publish(this.opts.exchange, routingKey, Buffer.from(JSON.stringify(event)), {
      messageId: event.eventId,
      type,
      contentType: this.opts.contentType,
      // A requestId too long for an AMQP short string is dropped from the properties by the
      // publisher (it is in the body whole either way).
      correlationId,
    });
  }
}
