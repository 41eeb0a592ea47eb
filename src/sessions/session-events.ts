import type { Logger } from 'pino';
import type { HealthStatus, SessionEvent, SessionEventAction } from '../events/catalogue.js';
import type { Events, EventSubject } from '../events/event-publisher.js';

/** What a session event carries besides the envelope (the publisher adds action, ids, workerId, time, requestId). */
export type SessionPayload<A extends SessionEventAction> = Omit<
  SessionEvent<A>,
  'action' | 'numberId' | 'sessionId' | 'workerId' | 'timestamp' | 'eventId' | 'requestId'
>;

/**
 * One session's events and number health. The requestId is an argument of every call, never
 * state: which one an event carries is decided by the caller (see the rule on `Session`).
 */
export class SessionPublisher {
  constructor(
    private readonly session: { readonly id: string; readonly numberId: number },
    private readonly events: Events,
    private readonly log: Logger,
  ) {}

  /**
   * Publishes; never rejects (a failure is logged). Events go out in order through the outbox
   * whether or not the caller awaits the broker's confirm.
   */
  publish<A extends SessionEventAction>(action: A, payload: SessionPayload<A>, requestId: string | undefined): Promise<void> {
    return this.answer(action, payload, requestId).catch((err) => this.log.error({ err, action }, 'could not publish event'));
  }

  /** Publishes and rejects if the broker refuses: for an event that is the whole answer to a command (it is retried). */
  async answer<A extends SessionEventAction>(action: A, payload: SessionPayload<A>, requestId: string | undefined): Promise<void> {
    await this.events.session(action, this.subject(requestId), payload);
  }

  /** Number health; never rejects (a failure is logged). */
  health(status: HealthStatus, reason: string | undefined, requestId: string | undefined): Promise<void> {
    return this.events
      .health(this.subject(requestId), status, reason)
      .then(() => undefined)
      .catch((err) => this.log.error({ err, status }, 'could not publish health'));
  }

  private subject(requestId: string | undefined): EventSubject {
    return { numberId: this.session.numberId, sessionId: this.session.id, requestId };
  }
}
