import type { Command } from './command.js';

/**
 * Who executes a command. The shared queue is only a router: everything it carries is moved,
 * with a publisher confirm, onto the queue of the worker that must execute it (the addressee,
 * or the receiving worker when none is named). Only a worker's own queue is executed, and only
 * by the one process holding that queue's exclusive consumer, so two replicas started with the
 * same WORKER_ID never both act, and a command is never dropped for being someone else's.
 */
export type Route = { kind: 'execute' } | { kind: 'forward'; workerId: string };

export function routeCommand(
  command: Pick<Command, 'workerId'>,
  ctx: { self: string; source: 'shared' | 'own'; forwardedToOwner?: string | undefined },
): Route {
  // Moved here by a worker because this one drives the session: ours, whoever the body names.
  if (ctx.source === 'own' && ctx.forwardedToOwner === ctx.self) return { kind: 'execute' };
  const target = command.workerId ?? ctx.self;
  if (ctx.source === 'own' && target === ctx.self) return { kind: 'execute' };
  return { kind: 'forward', workerId: target };
}

/**
 * Whether commands may be moved onto `workerId`'s queue. Forwarding declares that queue, so an
 * id must not name a queue the worker already uses for something else (`dlq` would put
 * commands into the dead-letter queue), and, when the fleet is listed (FLEET_WORKER_IDS), must
 * be one of its workers: otherwise any id a publisher invents becomes a durable queue that
 * nobody will ever consume. Returns the reason when it may not.
 */
export function refuseForwardTarget(
  workerId: string,
  fleet: { commandsQueue: string; reservedQueues: readonly string[]; workerIds: readonly string[] | undefined },
): string | undefined {
  const queue = `${fleet.commandsQueue}.${workerId}`;
  if (fleet.reservedQueues.includes(queue)) return `worker id "${workerId}" would address the queue "${queue}", which is not a worker's command queue`;
  if (fleet.workerIds && !fleet.workerIds.includes(workerId)) return `worker "${workerId}" is not part of the fleet (FLEET_WORKER_IDS)`;
  return undefined;
}
