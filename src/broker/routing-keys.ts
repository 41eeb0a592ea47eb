/**
 * The routing keys of the events exchange (a topic exchange): what each event is published
 * with, and the patterns the worker's queues are bound with (topology.ts). Plain data, no broker
 * client: the event publisher (and through it everything that only publishes) depends on this,
 * not on amqplib.
 */
export const ROUTING = {
  sessionEvents: 'session.#',
  numberHealth: 'health.#',
  workerEvents: 'worker.#',
  messageEvents: 'message.#',
  messageEvent: (action: string) => `message.${action}`,
  worker: (action: string) => `worker.${action}`,
  sessionEvent: (action: string) => `session.${action}`,
  health: (status: string) => `health.${status}`,
} as const;
