import type { Logger } from 'pino';

/**
 * libsignal (under Baileys) reports with `console.*`, and several of its messages print whole
 * Signal session records, private keys included ("Closing session:", "Opening session:", …).
 * Those must never reach stdout. Its messages are recognised by their text and go to the
 * logger as that text alone; the objects after it are dropped. Everything else is untouched.
 */
const LIBSIGNAL_MESSAGES =
  /^(Closing session|Opening session|Removing old closed session|Session already (closed|open)|Migrating session|Closing open session|Closing stale open session|Decrypted message with closed session|Failed to decrypt message|Session error|Unhandled bucket type|WARNING: Expected pubkey|V1 session storage migration error)/;

const LEVELS = ['log', 'info', 'warn', 'error', 'debug'] as const;
let installed: (() => void) | undefined;

/** Returns a function that restores the original console. Idempotent. */
export function routeLibsignalConsole(logger: Logger): () => void {
  if (installed) return installed;
  const originals = LEVELS.map((level) => [level, console[level]] as const);
  for (const [level, original] of originals) {
    console[level] = (...args: unknown[]) => {
      const first = args[0];
      if (typeof first === 'string' && LIBSIGNAL_MESSAGES.test(first)) {
        const text = first.split('\n')[0]!.slice(0, 300);
        if (level === 'error') logger.warn({ source: 'libsignal' }, text);
        else logger.debug({ source: 'libsignal' }, text);
        return;
      }
      original.apply(console, args);
    };
  }
  installed = () => {
    for (const [level, original] of originals) console[level] = original;
    installed = undefined;
  };
  return installed;
}
