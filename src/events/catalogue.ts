import { z } from 'zod';

/**
 * Every event the worker publishes: one schema each, documented with when it is emitted.
 * The publisher validates against these, and `scripts/generate-asyncapi.ts` turns them into
 * `docs/asyncapi.json` (a test keeps the two in sync).
 */
const envelope = {
  numberId: z.number().int().nonnegative().describe('The backend\'s id of the WhatsApp number.'),
  sessionId: z.string().describe('`session_<numberId>_<phone>`.'),
  workerId: z.string().describe('The worker that published the event.'),
  timestamp: z.number().int().describe('When the event happened, epoch milliseconds.'),
  eventId: z.string().uuid().describe('Unique per event; stable across re-publication, so consumers can de-duplicate.'),
  requestId: z.string().optional().describe('The `requestId` (or AMQP correlation_id) of the command that caused the event.'),
};

const sessionEvent = <A extends string, S extends z.ZodRawShape>(action: A, description: string, shape: S) =>
  z.object({ action: z.literal(action), ...envelope, ...shape }).describe(description);

export const sessionEventSchemas = {
  qr_generated: sessionEvent('qr_generated', 'Emitted when WhatsApp issues a QR code to link the session (once per refresh).', {
    qrCode: z.string().startsWith('data:image/png;base64,').describe('The QR as a PNG data URL, ready for an <img>.'),
    qrString: z.string().describe('The raw string encoded in the QR.'),
    attempt: z.number().int().positive().describe('1 for the first QR of this linking attempt, then 2, 3…'),
    expiresAt: z.number().int().describe('When this QR stops being valid, epoch ms.'),
  }),
  qr_expired: sessionEvent('qr_expired', 'Emitted when every QR expired with no scan; the session stops and waits for a new `create`.', {}),
  pairing_code_generated: sessionEvent('pairing_code_generated', 'Emitted when a `request_pairing_code` produced a code to type on the phone.', {
    pairingCode: z.string().length(8),
  }),
  connected: sessionEvent('connected', 'Emitted when the session\'s WhatsApp socket is open (after linking, a restore or a reconnect).', {
    phoneNumber: z.string().describe('Digits of the linked account\'s number.'),
    jid: z.string().describe('The linked device\'s JID.'),
  }),
  disconnected: sessionEvent('disconnected', 'Emitted when the socket closed without a logout: on a `disconnect` command, a drop, or a refused connection.', {
    reason: z.string(),
    statusCode: z.number().int().optional().describe('WhatsApp\'s disconnect code when there is one (408, 428, 440, 503, 515…).'),
    willReconnect: z.boolean().describe('True when the worker retries by itself.'),
  }),
  logged_out: sessionEvent('logged_out', 'Emitted when the session is unlinked (a `logout` command, or the phone removed the device); its credentials are deleted.', {
    reason: z.string(),
  }),
  session_deleted: sessionEvent('session_deleted', 'Emitted when a `delete` command removed everything stored for the session.', {}),
  session_status: sessionEvent('session_status', 'Emitted when a `status` command asks where the session stands.', {
    status: z.enum(['starting', 'awaiting_scan', 'awaiting_pairing', 'connected', 'reconnecting', 'stopped', 'logged_out', 'banned', 'unknown']),
    phoneNumber: z.string().optional(),
    jid: z.string().optional(),
  }),
  command_rejected: z
    .object({
      action: z.literal('command_rejected'),
      ...envelope,
      sessionId: envelope.sessionId.optional(),
      code: z.string().describe('A stable error code, e.g. UNKNOWN_SESSION, CAPACITY, INVALID_PHONE, INVALID_COMMAND.'),
      reason: z.string().describe('What was wrong, for a person.'),
      command: z.string().optional().describe('The rejected command\'s action.'),
    })
    .describe('Emitted when a command that names a session cannot be done (unknown session, capacity reached, invalid phone, malformed).'),
};

export const HEALTH_STATUSES = ['HEALTHY', 'RECONNECTING', 'DISCONNECTED', 'LOGGED_OUT', 'BANNED'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const numberHealthSchema = z
  .object({
    numberId: envelope.numberId,
    sessionId: envelope.sessionId,
    workerId: envelope.workerId,
    status: z.enum(HEALTH_STATUSES),
    reason: z.string().optional(),
    timestamp: envelope.timestamp,
    eventId: envelope.eventId,
    requestId: envelope.requestId,
  })
  .describe('Emitted on the number-health queue whenever a number\'s health changes: HEALTHY when the socket opens, RECONNECTING, DISCONNECTED, LOGGED_OUT, BANNED.');

export type SessionEventSchemas = typeof sessionEventSchemas;
export type SessionEventAction = keyof SessionEventSchemas;
export type SessionEvent<A extends SessionEventAction = SessionEventAction> = z.infer<SessionEventSchemas[A]>;
export type NumberHealthEvent = z.infer<typeof numberHealthSchema>;

export const EVENT_ACTIONS = Object.keys(sessionEventSchemas) as SessionEventAction[];

const workerEvent = <A extends string>(action: A, description: string) =>
  z
    .object({
      action: z.literal(action),
      workerId: envelope.workerId,
      status: z.enum(['online', 'offline']),
      sessionCount: z.number().int().nonnegative().describe('Sessions holding a socket.'),
      connectedCount: z.number().int().nonnegative().describe('Sessions whose socket is open.'),
      maxSessions: z.number().int().positive(),
      cpuUsage: z.number().nonnegative().describe('Process CPU, percent of one core, since the previous report.'),
      memoryUsage: z.number().nonnegative().describe('Process RSS, percent of the machine\'s memory.'),
      rssBytes: z.number().int().nonnegative(),
      uptime: z.number().nonnegative().describe('Seconds since the process started.'),
      messageCount: z.number().int().nonnegative().describe('Commands handled since start.'),
      version: z.string().describe('The worker\'s version.'),
      timestamp: envelope.timestamp,
      eventId: envelope.eventId,
    })
    .describe(description);

export const workerEventSchemas = {
  worker_online: workerEvent('worker_online', 'Emitted when a worker process has started and holds its command queue.'),
  worker_heartbeat: workerEvent('worker_heartbeat', 'Emitted when a heartbeat is due (every HEARTBEAT_INTERVAL_MS, 30 s by default).'),
  worker_offline: workerEvent('worker_offline', 'Emitted when a worker stops gracefully, after its sessions were released.'),
};
export type WorkerEventAction = keyof typeof workerEventSchemas;
export type WorkerEvent = z.infer<(typeof workerEventSchemas)[WorkerEventAction]>;
