/**
 * The commands the worker accepts, after normalisation. `parse-command.ts` turns whatever the
 * backend sent (fields at the top level or inside `data`, ids as strings or numbers) into one
 * of these.
 */
export const SESSION_ACTIONS = ['create', 'disconnect', 'reconnect', 'logout', 'delete', 'status', 'request_pairing_code'] as const;
export type SessionAction = (typeof SESSION_ACTIONS)[number];

export interface SessionCommand {
  action: SessionAction;
  numberId: number;
  /** As sent, when the command carried one; `create` and `request_pairing_code` always do. */
  phoneNumber: string | undefined;
  /** `session_<numberId>_<phone>` when the phone is known; otherwise resolved from the sessions this worker knows. */
  sessionId: string | undefined;
  /** The worker the command is addressed to; undefined = whoever takes it. */
  workerId: string | undefined;
  /** Echoed on every event the command causes. */
  requestId: string | undefined;
  /** The backend's own session reference (e.g. `session_6_2533b0aa`), kept for correlation. */
  backendSessionId: string | undefined;
  /** When the backend issued the command (epoch ms), if it said. */
  issuedAt: number | undefined;
}

export type Command = SessionCommand;
