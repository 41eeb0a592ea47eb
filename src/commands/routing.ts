import type { Command } from './command.js';

/**
 * Who executes a command. The shared queue is only a router: everything it carries is moved,
 * with a publisher confirm, onto the queue of the worker that must execute it (the addressee,
 * or the receiving worker when none is named). Only a worker's own queue is executed, and only
 * by the one process holding that queue's exclusive consumer, so two replicas started with the
 * same WORKER_ID never both act, and a command is never dropped for being someone else's.
 */
export type Route = { kind: 'execute' } | { kind: 'forward'; workerId: string };

export function routeCommand(command: Pick<Command, 'workerId'>, ctx: { self: string; source: 'shared' | 'own' }): Route {
  const target = command.workerId ?? ctx.self;
  if (ctx.source === 'own' && target === ctx.self) return { kind: 'execute' };
  return { kind: 'forward', workerId: target };
}
