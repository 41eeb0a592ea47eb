import type { Config } from '../config/config.js';
import { forwardHops, forwardProperties } from './outgoing-properties.js';
import type { Delivery, Publisher } from './types.js';

/** What the delay queue is named and declared from (the same as topology.ts's QueueConfig, without importing it: topology declares this queue). */
type QueueConfig = Pick<Config, 'queues' | 'rabbitmq'>;

/**
 * The worker's pacing delay queue (send pacing, README "Send pacing"): a paced send that would
 * wait longer than PACING_MAX_HOLD_MS is re-published here with a per-message TTL (the wait); the
 * broker dead-letters it back to the worker's own command queue when the TTL runs out, and it is
 * paced again there. Named with a `:`, which no worker id may contain, so it can never be
 * another worker's command queue.
 */
export function delayQueueName(config: Pick<QueueConfig, 'queues'>): string {
  return `${config.queues.workerCommands}:delay`;
}

export function delayQueueArguments(config: QueueConfig): Record<string, unknown> {
  const back = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': config.queues.workerCommands };
  // Quorum: dead-lettered at least once (the broker keeps the message until the command queue has it).
  if (config.rabbitmq.queueType === 'quorum')
    return { 'x-queue-type': 'quorum', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish', ...back };
  return { 'x-queue-type': 'classic', ...back };
}

/** Names the worker that put a send in its delay queue. */
export const PACED_BY_HEADER = 'x-paced-by';

/**
 * Puts a command delivery, body unchanged, in the delay queue for `ttlMs`, confirmed. It comes
 * back marked as meant for this worker (x-forwarded-to-owner), so it is executed here whoever its
 * body names, as it was the first time; and as paced by this worker (`x-paced-by`, with our broker
 * user as its broker-checked `user_id`), so its age is not held against it (`isPacedReturn`).
 */
export async function postponeDelivery(
  publisher: Publisher,
  config: QueueConfig & { workerId: string },
  delivery: Delivery,
  action: string,
  ttlMs: number,
): Promise<void> {
  const properties = forwardProperties(delivery, { forwardedBy: config.workerId, action, toOwner: config.workerId });
  await publisher.publish('', delayQueueName(config), delivery.body, {
    ...properties,
    // A wait is no move between workers: the hop count stays as it was.
    headers: { ...properties.headers, 'x-forward-hops': forwardHops(delivery), [PACED_BY_HEADER]: config.workerId },
    userId: config.rabbitmq.user,
    expiration: String(Math.max(1, Math.round(ttlMs))),
  });
}

/**
 * A send back from this worker's delay queue: it was accepted on time, and waited because of our
 * pacing, so COMMAND_MAX_AGE_MS does not apply to it. Proven by the `user_id` the broker checks
 * (only a worker publishes as the workers' user) and the header naming this worker.
 */
export function isPacedReturn(delivery: Pick<Delivery, 'headers' | 'userId'>, self: string, workerUser: string | undefined): boolean {
  return workerUser !== undefined && delivery.userId === workerUser && delivery.headers[PACED_BY_HEADER] === self;
}
