/**
 * Typed errors: every failure the worker reports carries a stable code (it ends up in
 * `x-error-code` headers and `command_rejected` events) and, where there is one, its cause.
 */
export const ERROR_CODES = [
  // The message itself is unusable: dead-letter it.
  'INVALID_JSON',
  'JAVA_SERIALIZED',
  'PAYLOAD_TOO_LARGE',
  'FORBIDDEN_KEY',
  'INVALID_COMMAND',
  'UNKNOWN_ACTION',
  'MISROUTED_EVENT',
  'INVALID_SESSION_ID',
  'INVALID_PHONE',
  'INVALID_RECIPIENT',
  'INVALID_MEDIA',
  'MEDIA_TOO_LARGE',
  // A check_numbers with more phones than CHECK_NUMBERS_MAX_BATCH.
  'BATCH_TOO_LARGE',
  // Addressed to a worker that is not part of the fleet (FLEET_WORKER_IDS, or a reserved queue name).
  'UNKNOWN_WORKER',
  // Older than COMMAND_MAX_AGE_MS (or too far in the future): a replay, or a backlog nobody waits for.
  'STALE',
  // A worker-to-worker command (`release`) that was not sent by a worker.
  'NOT_AUTHORIZED',
  // The command is well formed but cannot be done here and now.
  'UNKNOWN_SESSION',
  'CAPACITY',
  'SESSION_BUSY',
  'RATE_LIMITED',
  'NOT_CONNECTED',
  'OWNED_ELSEWHERE',
  'ALREADY_LINKED',
  'NOT_ON_WHATSAPP',
  // Group commands: WhatsApp's IQ errors 401 (only admins may), 403 (not in the group), 404 (no such group or invite).
  'NOT_ADMIN',
  'NOT_A_MEMBER',
  'UNKNOWN_GROUP',
  // edit_message / delete_message of a message known not to be ours, not text, or past WhatsApp's window.
  'NOT_EDITABLE',
  'NOT_DELETABLE',
  // mark_read in a group: no id whose sender (the receipt names it) this session remembers or was told.
  'UNKNOWN_MESSAGE',
  'MEDIA_NOT_FOUND',
  'SEND_FAILED',
  // A received file could not be fetched (gone, refused host) or did not verify (MAC, hash).
  'MEDIA_UNAVAILABLE',
  'MEDIA_CORRUPT',
  // Infrastructure.
  'INVALID_CONFIG',
  'BROKER_UNAVAILABLE',
  // A message amqplib cannot encode, or the broker refused on every try: dropped, never retried.
  'UNPUBLISHABLE',
  'STORAGE_UNAVAILABLE',
  'DECRYPTION_FAILED',
  // An object that decodes (right key, or stored in clear) but is not what it must be: not JSON, another session's, malformed.
  'STORAGE_CORRUPT',
  // Storage holds older state than this session is known to have written (a rollback, or a lost object).
  'STORAGE_ROLLBACK',
  'WHATSAPP_ERROR',
  'TIMEOUT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class WorkerError extends Error {
  override readonly name = 'WorkerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A command for a session that another running worker drives. It is never executed beside that
 * owner: the command handler moves it, confirmed, onto the owner's queue.
 */
export class OwnedByAnotherWorker extends WorkerError {
  constructor(
    readonly owner: string,
    sessionId: string,
  ) {
    super('OWNED_ELSEWHERE', `session ${sessionId} is driven by worker ${owner}`);
  }
}

export function isWorkerError(err: unknown, code?: ErrorCode): err is WorkerError {
  return err instanceof WorkerError && (code === undefined || err.code === code);
}

/** A short, log-safe description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
