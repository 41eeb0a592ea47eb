import type { Command, SendMessageCommand } from '../commands/command.js';
import type { SendPacer } from './send-pacer.js';

export interface PacedExecutionOptions {
  /** Typing simulation: ms of `composing` per character of the text (or caption), at most `typingMaxMs`. */
  typingMsPerChar: number;
  typingMaxMs: number;
}

/**
 * The command handler's `execute` with send pacing: a `send_message` waits for its time in the
 * pacer (outside the number's lane) and then runs like any command; everything else runs at
 * once. `postpone` moves the delivery (the broker's, opaque here) to the delay queue for a while.
 */
export function pacedExecute<Delivery>(
  pacer: SendPacer,
  execute: (command: Command) => Promise<void>,
  postpone: (delivery: Delivery, command: Command, ttlMs: number) => Promise<void>,
  opts: PacedExecutionOptions,
): (command: Command, delivery: Delivery) => Promise<void> {
  return (command, delivery) => {
    if (command.action !== 'send_message') return execute(command);
    const send = { numberId: command.numberId, requestId: command.requestId, toJid: command.toJid, typingMs: typingMs(command, opts) };
    return pacer.pace(
      send,
      () => execute(command),
      (ttlMs) => postpone(delivery, command, ttlMs),
    );
  };
}

function typingMs(command: SendMessageCommand, opts: PacedExecutionOptions): number {
  const m = command.message;
  const text = m.type === 'text' ? m.text : 'caption' in m ? (m.caption ?? '') : '';
  return Math.min(opts.typingMaxMs, text.length * opts.typingMsPerChar);
}
