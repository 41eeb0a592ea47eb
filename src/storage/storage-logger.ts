/**
 * The little the storage layer needs from a logger. A pino `Logger` fits as is; tests and tools
 * may pass nothing (silence).
 */
export interface StorageLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

export const silentStorageLogger: StorageLogger = { debug: noop, info: noop, warn: noop, error: noop };
