import type { SocketConfig } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { STATUS } from './disconnect-reasons.js';

/** The logger interface Baileys calls (its `ILogger`, not exported by name). */
export type BaileysLogger = SocketConfig['logger'];

/** What Baileys logs for every `<stream:error>` it receives, before it closes the socket. */
const STREAM_ERROR_MSG = 'stream errored out';

/**
 * Baileys' `stream errored out` for a `<stream:error code="515">`: WhatsApp asking the client to
 * restart its connection. It always comes right after a new link (the `<pair-success>`), and
 * rarely as a server's restart request; both are expected, and the session reconnects at once
 * with the same credentials (`classifyDisconnect` → `restart`). Baileys logs it at error level
 * all the same, so every new link printed `level 50`. Any other stream error (a conflict, another
 * code, a malformed node) is not this and keeps its error level.
 */
export function isExpectedRestart(obj: unknown, msg: unknown): boolean {
  if (msg !== STREAM_ERROR_MSG || typeof obj !== 'object' || obj === null) return false;
  const node = (obj as { fullErrorNode?: { tag?: unknown; attrs?: { code?: unknown } } }).fullErrorNode;
  return node?.tag === 'stream:error' && Number(node.attrs?.code) === STATUS.restartRequired;
}

/**
 * The logger handed to Baileys: `logger` itself, except that the expected 515 restart is logged
 * at info (`stream restart required (515)`), not error. Children keep the filter (Baileys makes
 * its own), and the level is the wrapped logger's (Baileys reads it to skip trace-only work).
 */
export function baileysLogger(logger: Logger): BaileysLogger {
  return {
    get level() {
      return logger.level;
    },
    set level(level: string) {
      logger.level = level;
    },
    child: (bindings) => baileysLogger(logger.child(bindings)),
    trace: (obj, msg) => logger.trace(obj, msg),
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => {
      if (isExpectedRestart(obj, msg))
        logger.info({ statusCode: STATUS.restartRequired }, 'stream restart required (515): expected after a new link, reconnecting');
      else logger.error(obj, msg);
    },
  };
}
