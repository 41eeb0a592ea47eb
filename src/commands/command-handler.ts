import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Delivery, DeliveryHandler, Outcome } from '../broker/types.js';
import { forwardedToOwnerOf, forwardHops } from '../broker/outgoing-properties.js';
import { isPacedReturn } from '../broker/delay-queue.js';
import type { Events } from '../events/event-publisher.js';
import { describeError, isWorkerError, OwnedByAnotherWorker } from '../util/errors.js';
import type { Command } from './command.js';
import type { ProxyPolicy } from '../util/proxy-url.js';
import { AttemptCounter, judgeFailure } from './command-outcome.js';
import { parseCommand, type CommandHint } from './parse-command.js';
import { refuseForwardTarget, routeCommand } from './routing.js';
import { noopTelemetry } from '../telemetry/noop-telemetry.js';
import type { CommandOutcomeKind, Telemetry } from '../telemetry/types.js';

export interface CommandHandlerDeps {
  self: string;
  /** Which queue this handler consumes: the shared router queue, or the worker's own. */
  source: 'shared' | 'own';
  maxBytes: number;
  /** Largest base64 media a send_message may carry (MEDIA_MAX_BYTES). */
  maxMediaBytes?: number;
  maxAttempts: number;
  /** Parsing bounds beyond size (COMMAND_MAX_DEPTH, COMMAND_MAX_AGE_MS, COMMAND_MAX_CLOCK_SKEW_MS, CHECK_NUMBERS_MAX_BATCH, PROXY_ALLOWED_HOSTS). */
  parseLimits?: { maxDepth?: number; maxAgeMs?: number; maxClockSkewMs?: number; maxCheckNumbers?: number; proxyPolicy?: ProxyPolicy };
  /** Which worker ids commands may be moved to (see `refuseForwardTarget`). */
  fleet?: { commandsQueue: string; reservedQueues: readonly string[]; workerIds: readonly string[] | undefined };
  /** The broker user workers publish as: worker-to-worker commands (`release`) must carry it as their validated `user_id`. */
  workerUser?: string;
  /** Carries out the command; `delivery` lets a paced send move itself to the delay queue (send-pacer.ts). */
  execute: (command: Command, delivery: Delivery) => Promise<void>;
  /**
   * Moves the message, confirmed, onto `workerId`'s own queue. `toOwner`: that worker drives
   * the session, and executes the command whoever the body names.
   */
  forward: (workerId: string, delivery: Delivery, command: Command, opts?: { toOwner?: boolean }) => Promise<void>;
  events: Events;
  /** Each delivery in a consumer span continuing the publisher's trace; commands counted by action and outcome. Default: none. */
  telemetry?: Telemetry | undefined;
  logger: Logger;
}

const OUTCOME_KIND: Record<Outcome['kind'], CommandOutcomeKind> = { ack: 'ack', retry: 'retry', 'dead-letter': 'dead_letter' };

/** How many times a command may be moved between workers (ownership changing under it) before it is retried instead. */
const MAX_OWNER_HOPS = 3;

/** Turns one delivery into exactly one outcome. Never throws. */
export function createCommandHandler(deps: CommandHandlerDeps): DeliveryHandler {
  const attempts = new AttemptCounter();
  const log = deps.logger.child({ component: 'commands', queue: deps.source });

  const reject = async (hint: CommandHint, code: string, reason: string): Promise<void> => {
    if (hint.numberId === undefined) return;
    await deps.events.rejected({ numberId: hint.numberId, sessionId: hint.sessionId, requestId: hint.requestId }, code, reason, hint.action);
  };

  const telemetry = deps.telemetry ?? noopTelemetry;
  const forward: CommandHandlerDeps['forward'] = (workerId, delivery, command, opts) =>
    telemetry.span(
      'command forward',
      { 'wa.action': command.action, 'wa.number_id': command.numberId, 'wa.to_worker': workerId, 'wa.to_owner': !!opts?.toOwner },
      () => deps.forward(workerId, delivery, command, opts),
    );

  const handle = async (delivery: Delivery, seen: { action?: string; numberId?: number }): Promise<Outcome> => {
    const parsed = parseCommand(delivery.body, delivery, {
      maxBytes: deps.maxBytes,
      ...(deps.maxMediaBytes ? { maxMediaBytes: deps.maxMediaBytes } : {}),
      ...deps.parseLimits,
      // A send our pacing kept waiting is not too old for it (delay-queue.ts).
      ...(isPacedReturn(delivery, deps.self, deps.workerUser) ? { maxAgeMs: 0 } : {}),
    });
    if (!parsed.ok) {
      if (parsed.code === 'MISROUTED_EVENT') {
        // Someone else's message on our queue (events queue = command queue): never ack-and-drop it.
        log.error({ action: parsed.hint.action }, parsed.reason);
        return { kind: 'retry', reason: parsed.reason, delayMs: 1000 };
      }
      log.warn({ code: parsed.code, reason: parsed.reason, hint: parsed.hint }, 'command rejected');
      await reject(parsed.hint, parsed.code, parsed.reason).catch((err) => log.error({ err }, 'could not publish command_rejected'));
      return { kind: 'dead-letter', code: parsed.code, reason: parsed.reason };
    }

    const command = parsed.command;
    seen.action = command.action;
    seen.numberId = command.numberId;
    const hint: CommandHint = { action: command.action, numberId: command.numberId, sessionId: command.sessionId, requestId: command.requestId };
    const refuse = async (code: 'NOT_AUTHORIZED' | 'UNKNOWN_WORKER', reason: string): Promise<Outcome> => {
      log.warn({ code, reason, action: command.action, numberId: command.numberId }, 'command refused');
      await reject(hint, code, reason).catch((err) => log.error({ err }, 'could not publish command_rejected'));
      return { kind: 'dead-letter', code, reason };
    };
    // `release` makes a worker drop a number: only another worker may ask for it, proven by the
    // user_id that the broker itself checks against the publishing connection's user.
    if (command.action === 'release' && deps.workerUser !== undefined && delivery.userId !== deps.workerUser) {
      return refuse(
        'NOT_AUTHORIZED',
        `"release" is a worker-to-worker command: it must be published by a worker (AMQP user_id "${deps.workerUser}"); use "disconnect" or "logout"`,
      );
    }
    if (command.action === 'release' && command.handoverTo !== undefined && deps.fleet) {
      const why = refuseForwardTarget(command.handoverTo, deps.fleet);
      if (why) return refuse('UNKNOWN_WORKER', `handoverTo: ${why}`);
    }
    const key = delivery.messageId ?? createHash('sha1').update(delivery.body).digest('base64');
    const attempt = delivery.deliveryCount !== undefined ? delivery.deliveryCount + 1 : attempts.next(key);
    const forwardedToOwner = forwardedToOwnerOf(delivery);
    const route = routeCommand(command, { self: deps.self, source: deps.source, forwardedToOwner });
    const cmdLog = log.child({ action: command.action, numberId: command.numberId, requestId: command.requestId });
    if (route.kind === 'forward' && deps.fleet) {
      const why = refuseForwardTarget(route.workerId, deps.fleet);
      if (why) return refuse('UNKNOWN_WORKER', why);
    }

    try {
      if (route.kind === 'forward') {
        await forward(route.workerId, delivery, command);
        cmdLog.debug({ to: route.workerId }, 'command forwarded');
      } else {
        try {
          await deps.execute(command, delivery);
        } catch (err) {
          if (!(err instanceof OwnedByAnotherWorker) || forwardHops(delivery) >= MAX_OWNER_HOPS) throw err;
          // Another running worker drives this number: it alone acts on it.
          await forward(err.owner, delivery, command, { toOwner: true });
          cmdLog.info({ to: err.owner }, 'command moved to the worker that drives the session');
          attempts.forget(key);
          return { kind: 'ack' };
        }
        cmdLog.info('command applied');
      }
      attempts.forget(key);
      return { kind: 'ack' };
    } catch (err) {
      const verdict = judgeFailure(err, attempt, deps.maxAttempts);
      switch (verdict.kind) {
        case 'reject':
          cmdLog.warn({ code: verdict.code, reason: verdict.reason }, 'command cannot be done');
          try {
            await reject(hint, verdict.code, verdict.reason);
          } catch (publishErr) {
            // The rejection must reach the backend: keep the command until it can, unless the
            // event itself can never be published (then retrying would loop for ever).
            if (!isWorkerError(publishErr, 'UNPUBLISHABLE'))
              return { kind: 'retry', reason: `could not publish command_rejected: ${describeError(publishErr)}`, delayMs: 1000 };
            cmdLog.error({ err: publishErr }, 'command_rejected cannot be published; the command is dropped with this log');
          }
          attempts.forget(key);
          return { kind: 'ack' };
        case 'retry':
          cmdLog.warn({ attempt, err }, 'command failed; will retry');
          return verdict.outcome;
        case 'give-up':
          cmdLog.error({ attempt, code: verdict.code, reason: verdict.reason }, 'command failed too often; dead-lettering');
          await reject(hint, verdict.code, verdict.reason).catch(() => undefined);
          attempts.forget(key);
          return { kind: 'dead-letter', code: verdict.code, reason: verdict.reason };
      }
    }
  };

  return (delivery: Delivery): Promise<Outcome> =>
    telemetry.consume(
      `${deps.source === 'shared' ? 'commands' : 'worker commands'} process`,
      delivery.headers,
      { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process', 'messaging.destination.name': delivery.queue },
      async (span) => {
        const seen: { action?: string; numberId?: number } = {};
        const outcome = await handle(delivery, seen);
        const action = seen.action ?? 'unparsed';
        span.setAttributes({ 'wa.action': action, 'wa.number_id': seen.numberId, 'wa.outcome': OUTCOME_KIND[outcome.kind] });
        if (outcome.kind === 'dead-letter') span.setAttributes({ 'error.type': outcome.code });
        telemetry.metrics.commandSettled(action, OUTCOME_KIND[outcome.kind], deps.source);
        return outcome;
      },
    );
}
