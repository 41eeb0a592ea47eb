import type { Publisher, PublishOptions } from '../broker/types.js';
import type { Telemetry } from './types.js';

/**
 * A publisher that publishes in a producer span and writes that span's `traceparent` into the
 * message's AMQP headers, so the backend's listener (or the worker a command is forwarded to)
 * continues the trace. The headers are part of the publish options, which the durable outbox
 * journals whole: a message replayed after a restart carries the same traceparent. Also records
 * the publish-to-confirm latency. Used only when telemetry is on (the no-op needs no wrapper).
 */
export function tracedPublisher(inner: Publisher, telemetry: Telemetry): Publisher {
  return {
    publish: (exchange: string, routingKey: string, body: Buffer, options: PublishOptions) =>
      telemetry.span(
        `${routingKey} publish`,
        {
          'messaging.system': 'rabbitmq',
          'messaging.operation.type': 'send',
          'messaging.destination.name': exchange === '' ? routingKey : exchange,
          'messaging.rabbitmq.destination.routing_key': routingKey,
          'messaging.message.id': options.messageId,
          'messaging.message.body.size': body.length,
        },
        async () => {
          const headers: Record<string, unknown> = { ...options.headers };
          telemetry.inject(headers);
          const started = performance.now();
          try {
            await inner.publish(exchange, routingKey, body, { ...options, headers });
            telemetry.metrics.eventPublished((performance.now() - started) / 1000, true);
          } catch (err) {
            telemetry.metrics.eventPublished((performance.now() - started) / 1000, false);
            throw err;
          }
        },
        { kind: 'producer' },
      ),
  };
}
