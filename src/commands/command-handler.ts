import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Delivery, DeliveryHandler, Outcome } from '../broker/types.js';
import type { Events } from '../events/event-publisher.js';
import { describeError } from '../util/errors.js';
import type { Command } from './command.js';
import { AttemptCounter, judgeFailure } from './command-outcome.js';
import { parseCommand, type CommandHint } from './parse-command.js';
import { routeCommand } from './routing.js';

export interface CommandHandlerDeps {
  self: string;
  /** Which queue this handler consumes: the shared router queue, or the worker's own. */
  source: 'shared' | 'own';
  maxBytes: number;
  /** Largest base64 media a send_message may carry (MEDIA_MAX_BYTES). */
  maxMediaBytes?: number;
  maxAttempts: number;
  execute: (command: Command) => Promise<void>;
  /** Moves the message, confirmed, onto `workerId`'s own queue. */
  forward: (workerId: string, delivery: Delivery, command: Command) => Promise<void>;
  events: Events;
  logger: Logger;
}

/** Turns one delivery into exactly one outcome. Never throws. */
export function createCommandHandler(deps: CommandHandlerDeps): DeliveryHandler {
  const attempts = new AttemptCounter();
  const log = deps.logger.child({ component: 'commands', queue: deps.source });

  const reject = async (hint: CommandHint, code: string, reason: string): Promise<void> => {
    if (hint.numberId === undefined) return;
    await deps.events.rejected({ numberId: hint.numberId, sessionId: hint.sessionId, requestId: hint.requestId }, code, reason, hint.action);
  };

  return async (delivery: Delivery): Promise<Outcome> => {
    const parsed = parseCommand(delivery.body, delivery, { maxBytes: deps.maxBytes, ...(deps.maxMediaBytes ? { maxMediaBytes: deps.maxMediaBytes } : {}) });
    if (!parsed.ok) {
      if (parsed.code === 'MISROUTED_EVENT') {
        // Someone else's message on our queue (events queue = command queue): never ack-and-drop it.
        log.error({ action: parsed.hint.action }, parsed.reason);
        return { kind: 'retry', reason: parsed.reason, delayMs: 1000 };
      }
      log.warn({ code: parsed.code, reason: parsed.reason, hint: parsed.hint }, 'command rejected');
      await reject(parsed.hint, parsed.code, parsed.reason).catch((err) => log.error({ err: describeError(err) }, 'could not publish command_rejected'));
      return { kind: 'dead-letter', code: parsed.code, reason: parsed.reason };
    }

    const command = parsed.command;
    const key = delivery.messageId ?? createHash('sha1').update(delivery.body).digest('base64');
    const attempt = delivery.deliveryCount !== undefined ? delivery.deliveryCount + 1 : attempts.next(key);
    const route = routeCommand(command, { self: deps.self, source: deps.source });
    const cmdLog = log.child({ action: command.action, numberId: command.numberId, requestId: command.requestId });

    try {
      if (route.kind === 'forward') {
        await deps.forward(route.workerId, delivery, command);
        cmdLog.debug({ to: route.workerId }, 'command forwarded');
      } else {
        await deps.execute(command);
        cmdLog.info('command applied');
      }
      attempts.forget(key);
      return { kind: 'ack' };
    } catch (err) {
      const verdict = judgeFailure(err, attempt, deps.maxAttempts);
      const hint: CommandHint = { action: command.action, numberId: command.numberId, sessionId: command.sessionId, requestId: command.requestId };
      switch (verdict.kind) {
        case 'reject':
          cmdLog.warn({ code: verdict.code, reason: verdict.reason }, 'command cannot be done');
          try {
            await reject(hint, verdict.code, verdict.reason);
          } catch (publishErr) {
            // The rejection must reach the backend: keep the command until it can.
            return { kind: 'retry', reason: `could not publish command_rejected: ${describeError(publishErr)}`, delayMs: 1000 };
          }
          attempts.forget(key);
          return { kind: 'ack' };
        case 'retry':
          cmdLog.warn({ attempt, err: describeError(err) }, 'command failed; will retry');
          return verdict.outcome;
        case 'give-up':
          cmdLog.error({ attempt, code: verdict.code, reason: verdict.reason }, 'command failed too often; dead-lettering');
          await reject(hint, verdict.code, verdict.reason).catch(() => undefined);
          attempts.forget(key);
          return { kind: 'dead-letter', code: verdict.code, reason: verdict.reason };
      }
    }
  };
}
