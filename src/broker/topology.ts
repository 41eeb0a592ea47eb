import type { Channel } from 'amqplib';
import type { Config } from '../config/config.js';
import { ROUTING } from './routing-keys.js';
import { delayQueueArguments, delayQueueName } from './delay-queue.js';

/**
 * What the worker declares, all durable. Events go through one topic exchange, so a backend
 * can bind more queues without the worker changing:
 *   session.<action>  → session events queue     (binding `session.#`)
 *   health.<status>   → number-health queue      (binding `health.#`)
 *   worker.<action>   → worker heartbeat queue  (binding `worker.#`, bounded)
 *   message.<action>  → message events queue     (binding `message.#`)
 * and `<worker queue>:delay`, where paced sends wait (per-message TTL), dead-lettered back to the worker queue.
 * Command queues (the shared one and every `<shared>.<workerId>`) share one set of arguments,
 * because re-declaring a queue with different arguments is an error.
 */
export type QueueConfig = Pick<Config, 'queues' | 'rabbitmq'> & { heartbeat?: Config['heartbeat'] };

export { ROUTING };

export function commandQueueArguments(config: QueueConfig): Record<string, unknown> {
  if (config.rabbitmq.queueType === 'quorum') {
    return {
      'x-queue-type': 'quorum',
      // The broker itself dead-letters a command that keeps crashing consumers.
      'x-delivery-limit': config.rabbitmq.deliveryLimit,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': config.queues.deadLetter,
    };
  }
  return { 'x-queue-type': 'classic' };
}

export function workerQueueName(config: QueueConfig, workerId: string): string {
  return `${config.queues.commands}.${workerId}`;
}

export async function assertCommandQueue(channel: Channel, config: QueueConfig, queue: string): Promise<void> {
  await channel.assertQueue(queue, { durable: true, arguments: commandQueueArguments(config) });
}

export async function declareTopology(channel: Channel, config: QueueConfig): Promise<void> {
  const q = config.queues;
  const queueType = config.rabbitmq.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
  await channel.assertQueue(q.deadLetter, { durable: true, arguments: queueType });
  await assertCommandQueue(channel, config, q.commands);
  await assertCommandQueue(channel, config, q.workerCommands);
  // Paced sends that would wait too long wait here, and come back to the worker's queue (send pacing).
  await channel.assertQueue(delayQueueName(config), { durable: true, arguments: delayQueueArguments(config) });
  await channel.assertExchange(q.eventsExchange, 'topic', { durable: true });
  // An operator may (wrongly) make the events queue the command queue: it is declared already.
  if (q.sessionEvents !== q.commands) await channel.assertQueue(q.sessionEvents, { durable: true, arguments: queueType });
  await channel.bindQueue(q.sessionEvents, q.eventsExchange, ROUTING.sessionEvents);
  await channel.assertQueue(q.numberHealth, { durable: true, arguments: queueType });
  await channel.bindQueue(q.numberHealth, q.eventsExchange, ROUTING.numberHealth);
  // Heartbeats pile up when nobody reads them: bounded in length and in age.
  await channel.assertQueue(q.workerHeartbeat, {
    durable: true,
    arguments: {
      ...queueType,
      'x-max-length': config.heartbeat?.queueMaxLength ?? 1000,
      'x-overflow': 'drop-head',
      'x-message-ttl': 10 * 60_000,
    },
  });
  await channel.bindQueue(q.workerHeartbeat, q.eventsExchange, ROUTING.workerEvents);
  await channel.assertQueue(q.messageEvents, { durable: true, arguments: queueType });
  await channel.bindQueue(q.messageEvents, q.eventsExchange, ROUTING.messageEvents);
}
