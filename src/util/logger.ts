import pino, { type Logger } from 'pino';
import { redactSecrets } from './redact.js';

/**
 * QR strings and pairing codes are credentials for a minute; keys and creds are credentials
 * for ever. None of them ever reach the logs, at whatever depth they sit in a record: every
 * record, the base bindings and every child logger's bindings go through `redactSecrets`, which
 * replaces the values of the keys listed in `SECRET_KEYS` (see redact.ts for the list and why).
 */
export { REDACTED, SECRET_KEYS } from './redact.js';

export function createLogger(opts: { level: string; workerId: string; destination?: pino.DestinationStream }): Logger {
  const logger = pino(
    {
      level: opts.level,
      base: { workerId: opts.workerId },
      // Whole errors: type, message, stack, our `code`, and the `cause` chain (log `{ err }`, never
      // just its message, so that what went wrong underneath is still there to read).
      serializers: { err: pino.stdSerializers.errWithCause },
      formatters: {
        log: (record) => redactSecrets(record),
        bindings: (bindings) => redactSecrets(bindings),
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
  // pino applies `formatters.bindings` to the base bindings only, not to a child's. A child is
  // `Object.create(parent)`, so this one override serves the whole tree of children.
  const child = logger.child as unknown as (this: unknown, bindings: pino.Bindings, options?: unknown) => unknown;
  Object.defineProperty(logger, 'child', {
    value: function redactingChild(this: unknown, bindings: pino.Bindings, options?: unknown): unknown {
      return child.call(this, redactSecrets(bindings), options);
    },
    writable: true,
    configurable: true,
  });
  return logger;
}
