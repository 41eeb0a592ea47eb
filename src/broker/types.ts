/** The broker boundary as the rest of the worker sees it. */

export interface PublishOptions {
  messageId: string;
  /** The AMQP `type`: the event or command action. */
  type: string;
  contentType: string;
  correlationId?: string | undefined;
  headers?: Record<string, unknown>;
  timestamp?: number;
  /**
   * The AMQP `user_id`. RabbitMQ refuses a publish whose user_id is not the connection's user,
   * so a consumer can trust it: workers set it on worker-to-worker commands (`release`).
   */
  userId?: string | undefined;
  /** The AMQP `expiration` (per-message TTL, ms as a decimal string): the pacing delay queue's wait. */
  expiration?: string | undefined;
}

export interface Publisher {
  /**
   * Resolves once the broker confirmed the message. While the broker is unreachable the message
   * waits in an ordered outbox and goes out on reconnection; it is never dropped.
   */
  publish(exchange: string, routingKey: string, body: Buffer, options: PublishOptions): Promise<void>;
}

export interface Delivery {
  queue: string;
  body: Buffer;
  contentType: string | undefined;
  correlationId: string | undefined;
  messageId: string | undefined;
  type: string | undefined;
  headers: Record<string, unknown>;
  /** The AMQP `user_id`, validated by the broker against the publisher's connection user. */
  userId: string | undefined;
  redelivered: boolean;
  /** Set by quorum queues (`x-delivery-count`); undefined on classic queues. */
  deliveryCount: number | undefined;
}

/** How a handled message ends. Decided by the handler, carried out by the consumer alone. */
export type Outcome =
  | { kind: 'ack' }
  /** Put it back after a delay (infrastructure trouble): it will be tried again. */
  | { kind: 'retry'; reason: string; delayMs: number }
  /** Unusable as it is: move it to the dead-letter queue with the reason in its headers. */
  | { kind: 'dead-letter'; code: string; reason: string };

export type DeliveryHandler = (delivery: Delivery) => Promise<Outcome>;

export const ack = (): Outcome => ({ kind: 'ack' });
