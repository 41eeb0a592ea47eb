import { z } from 'zod';
import { HISTORY_SYNC_MODES, REJECT_CALL_MESSAGE_MAX } from '../util/session-settings.js';
import { parseProxyUrl } from '../util/proxy-url.js';

/**
 * Every setting the worker reads, with its default. `.env.example` documents the same list
 * (a unit test keeps the two in sync). Parsed once, at start, by `loadConfig`.
 */
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', '']).transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const queueName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

export const WHATSAPP_WEBSOCKET_URL = 'wss://web.whatsapp.com/ws/chat';

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    WORKER_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only, at most 64 characters')
      .optional(),
    WORKER_MAX_SESSIONS: int(1, 100_000).default(50),

    /** One address, or a cluster's: comma-separated, checked further by `parseBrokerAddresses`. */
    RABBITMQ_URL: z
      .string()
      .regex(/^amqps?:\/\//, 'an amqp:// or amqps:// URL (or a comma-separated list of them)')
      .default('amqp://guest:guest@127.0.0.1:5672'),
    RABBITMQ_PREFETCH: int(1, 10_000).default(32),
    RABBITMQ_QUEUE_TYPE: z.enum(['classic', 'quorum']).default('classic'),
    /** Quorum queues only: redeliveries before the broker dead-letters a command. */
    RABBITMQ_DELIVERY_LIMIT: int(1, 1000).default(5),
    RABBITMQ_RECONNECT_MAX_DELAY_MS: int(100).default(15_000),

    QUEUE_SESSION_COMMANDS: queueName.default('whatsapp.session.update'),
    QUEUE_SESSION_EVENTS: queueName.default('whatsapp.session.events'),
    QUEUE_NUMBER_HEALTH: queueName.default('whatsapp.number.health'),
    QUEUE_DEAD_LETTER: queueName.default('whatsapp.session.update.dlq'),
    EVENTS_EXCHANGE: queueName.default('whatsapp.events'),
    QUEUE_WORKER_HEARTBEAT: queueName.default('whatsapp.worker.heartbeat'),
    /** Message events (message_sent, message_status, message_failed, message_received), bound with message.#. */
    QUEUE_MESSAGE_EVENTS: queueName.default('whatsapp.message.events'),
    /** The heartbeat queue keeps at most this many messages (oldest dropped) and each for 10 minutes. */
    HEARTBEAT_QUEUE_MAX_LENGTH: int(1, 1_000_000).default(1000),
    HEARTBEAT_INTERVAL_MS: int(100).default(30_000),
    EVENTS_CONTENT_TYPE: z.enum(['application/json', 'text/plain']).default('application/json'),
    /** Largest command without base64 media; a `send_message` carrying `base64` may be MEDIA_MAX_BYTES × 4/3 larger. */
    COMMAND_MAX_BYTES: int(1024, 128 * 1024 * 1024).default(64 * 1024),
    /** Deepest nesting of objects and arrays in a command (checked before JSON.parse runs). */
    COMMAND_MAX_DEPTH: int(2, 1000).default(32),
    /** A command whose `timestamp` is older than this is rejected (STALE); 0 turns the check off. */
    COMMAND_MAX_AGE_MS: int(0).default(3_600_000),
    /** A command whose `timestamp` lies further in the future than this is rejected (STALE): clock skew allowance. */
    COMMAND_MAX_CLOCK_SKEW_MS: int(0).default(300_000),
    /** Comma-separated worker ids commands may be forwarded to (empty: any well-formed id). */
    FLEET_WORKER_IDS: z.string().optional(),
    /** A session's pairing codes are requested at most once per this window (RATE_LIMITED otherwise). */
    PAIRING_CODE_MIN_INTERVAL_MS: int(0).default(20_000),
    /** Attempts at a command that fails for an infrastructure reason before it is dead-lettered. */
    COMMAND_MAX_ATTEMPTS: int(1, 100).default(5),

    QR_TERMINAL: bool.default(false),
    WA_WEBSOCKET_URL: z
      .string()
      .regex(/^wss?:\/\//, 'a ws:// or wss:// URL')
      .default(WHATSAPP_WEBSOCKET_URL),
    WA_TRUST_ROOT_PUBLIC_KEY: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, '64 hex characters (a 32-byte Curve25519 public key)')
      .optional(),
    WA_VERSION: z
      .string()
      .regex(/^\d+[.,]\d+[.,]\d+$/, 'three numbers, e.g. 2.3000.1027934701')
      .optional(),
    WA_VERSION_FETCH_TIMEOUT_MS: int(0, 60_000).default(3000),
    /** How long each QR lives; unset = WhatsApp's own (60 s for the first, 20 s for the next). */
    WA_QR_TIMEOUT_MS: int(1000, 300_000).optional(),
    /** Groups whose metadata each session keeps for its group sends (0: none, WhatsApp is asked before every group send). */
    GROUP_METADATA_CACHE_SIZE: int(0, 100_000).default(256),
    BAILEYS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
    WA_RECONNECT_BASE_DELAY_MS: int(10).default(1000),
    WA_RECONNECT_MAX_DELAY_MS: int(100).default(60_000),
    /** 440 conflicts within WA_CONFLICT_WINDOW_MS after which a session gives up (another client holds it). */
    WA_MAX_CONFLICTS: int(1, 100).default(3),
    /** The window in which WA_MAX_CONFLICTS conflicts stop a session (older ones no longer count). */
    WA_CONFLICT_WINDOW_MS: int(1000).default(10 * 60_000),
    /** How long `request_pairing_code` waits for the socket to be ready for registration (TIMEOUT beyond it). */
    WA_PAIRING_READY_TIMEOUT_MS: int(1000, 600_000).default(30_000),

    /** How long a send_message waits for a session that is (re)connecting before message_failed. */
    SEND_WAIT_FOR_OPEN_MS: int(0, 600_000).default(30_000),
    /** Most phones one check_numbers may ask about (one WhatsApp query); more: dead-lettered (BATCH_TOO_LARGE). */
    CHECK_NUMBERS_MAX_BATCH: int(1, 1000).default(50),
    /** Default settings of a number that set none of its own (`create` `settings`, `update_settings`). */
    SESSION_REJECT_CALLS: bool.default(false),
    /** With rejectCalls: a text sent to the caller after the reject (empty: none). */
    SESSION_REJECT_CALL_MESSAGE: z.string().max(REJECT_CALL_MESSAGE_MAX).optional(),
    SESSION_AUTO_READ: bool.default(false),
    SESSION_ALWAYS_ONLINE: bool.default(false),
    SESSION_HISTORY_SYNC: z.enum(HISTORY_SYNC_MODES).default('recent'),
    /** The proxy of a number that names none (settings `proxy`): socks5://, socks5h://, socks://, http://, https://, optional user:password. Empty: direct. */
    PROXY_URL: z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        const parsed = v === undefined ? undefined : parseProxyUrl(v);
        // the message never repeats the value: it may hold a password
        if (parsed && !parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
      }),
    /**
     * Private hosts and CIDRs a proxy named by a command (settings `proxy`) may be at, e.g.
     * `proxy.internal,10.20.0.0/16` (same syntax as MEDIA_FETCH_ALLOWED_HOSTS). Empty: public
     * addresses only. PROXY_URL is the operator's and is not checked.
     */
    PROXY_ALLOWED_HOSTS: z.string().optional(),
    /** Send pacing defaults (README "Send pacing"): sends per minute per number; 0: pacing off. */
    PACING_PER_MINUTE: int(0, 600).default(0),
    PACING_BURST: int(1, 100).default(3),
    PACING_MIN_GAP_MS: int(0, 600_000).default(1000),
    PACING_JITTER_MS: int(0, 60_000).default(1000),
    PACING_TYPING: bool.default(false),
    /** A paced send whose wait would be longer is not held unacked: it goes to the worker's delay queue (consumer_timeout). */
    PACING_MAX_HOLD_MS: int(100, 20 * 60_000).default(60_000),
    /** A number linked less than this many days ago sends at PACING_WARMUP_PER_MINUTE at most (0: no warm-up). */
    PACING_WARMUP_DAYS: int(0, 365).default(0),
    PACING_WARMUP_PER_MINUTE: int(1, 600).default(5),
    /** Typing simulation: ms of `composing` per character of the text, bounded by PACING_TYPING_MAX_MS. */
    PACING_TYPING_MS_PER_CHAR: int(0, 1000).default(50),
    PACING_TYPING_MAX_MS: int(0, 60_000).default(5000),
    /** History after linking: chats/contacts per history_chats/history_contacts event, and message events awaiting their broker confirm at once. */
    HISTORY_EVENT_BATCH: int(1, 5000).default(200),
    /** Largest media file sent (base64, media store) or stored when received. */
    MEDIA_MAX_BYTES: int(1024, 2 * 1024 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Media fetched over HTTP (a send's `url`, received files): idle limit. */
    MEDIA_FETCH_TIMEOUT_MS: int(100, 600_000).default(30_000),
    /** A send's `url` file must be complete within this, however steadily it trickles in. */
    MEDIA_FETCH_DEADLINE_MS: int(100, 3_600_000).default(120_000),
    /**
     * Hosts and CIDRs a send's `url` may reach although they are private (loopback, RFC 1918,
     * link-local…): e.g. `media.internal,10.20.0.0/16`. Empty: only public addresses.
     */
    MEDIA_FETCH_ALLOWED_HOSTS: z.string().optional(),
    /** Message history: one object per session per window, under sessions/<id>/messages/<day>/. */
    MESSAGE_LOG_FLUSH_INTERVAL_MS: int(10, 600_000).default(5000),

    STORAGE_DIR: z.string().min(1).default('./storage'),
    MINIO_ENDPOINT: z.string().optional(),
    MINIO_PORT: int(1, 65535).optional(),
    MINIO_USE_SSL: bool.default(false),
    MINIO_ACCESS_KEY: z.string().optional(),
    MINIO_SECRET_KEY: z.string().optional(),
    MINIO_BUCKET_NAME: z.string().min(3).max(63).default('whatsapp-sessions'),
    /** Received and sent media files (the session bucket keeps credentials and history). */
    MINIO_MEDIA_BUCKET_NAME: z.string().min(3).max(63).default('whatsapp-media'),
    MINIO_REGION: z.string().default('us-east-1'),
    SESSION_ENCRYPTION_KEY: z.string().optional(),
    /** With a key set, still read objects stored unencrypted (turning encryption on for an existing store); they are re-encrypted as they are written. */
    SESSION_ENCRYPTION_ACCEPT_PLAINTEXT: bool.default(false),
    /** Comma-separated older keys, still accepted for reading while data is rotated. */
    SESSION_ENCRYPTION_PREVIOUS_KEYS: z.string().optional(),
    AUTH_FLUSH_INTERVAL_MS: int(10, 60_000).default(1000),
    /** The durable outbox: events the broker has not confirmed, journaled on local disk. Default <STORAGE_DIR>/outbox/<WORKER_ID>. */
    OUTBOX_DIR: z.string().min(1).optional(),
    /** The journal never grows beyond this; past it new events wait in memory only (logged, counted). */
    OUTBOX_MAX_BYTES: int(64 * 1024).default(256 * 1024 * 1024),
    /** Journaled events are written and fsynced together once per this window. */
    OUTBOX_FSYNC_INTERVAL_MS: int(1, 10_000).default(50),

    /** Written every few seconds for the `healthcheck` command (Docker HEALTHCHECK, Kubernetes exec probe). */
    HEALTH_FILE: z.string().min(1).optional(),
    /** The healthcheck fails when the health file is older than this (the event loop is stuck). */
    HEALTHCHECK_MAX_STALE_MS: int(1000).default(30_000),
    /** The healthcheck fails when the broker has been unreachable for longer than this. */
    HEALTHCHECK_MAX_BROKER_DOWN_MS: int(1000).default(120_000),
    /** The healthcheck fails when the oldest event waiting in the outbox is older than this while the broker is connected (publishing is stuck). */
    HEALTHCHECK_MAX_OUTBOX_AGE_MS: int(1000).default(60_000),

    /**
     * How long sessions keep running while the broker is unreachable. Past it, this worker can no
     * longer be sure it still owns them (a replica with its WORKER_ID may have taken the queue), so
     * it lets them go; they are restored when it holds its queue again.
     */
    OWNERSHIP_LEASE_MS: int(1000).default(30_000),
    /** A standby (its worker queue held by another process with its WORKER_ID) tries to take the queue this often. */
    STANDBY_RETRY_MS: int(100, 600_000).default(2000),

    RESTORE_CONCURRENCY: int(1, 1000).default(32),
    /**
     * WhatsApp sockets opening at once (handshake, login) across the worker: overdue reconnects
     * (all of them after a CPU stall) wait for a slot instead of opening together.
     */
    SOCKETS_OPENING_MAX: int(1, 1000).default(32),
    /** A restore (at start, or on taking the worker queue over) waits this long for one session to connect before moving on. */
    RESTORE_SETTLE_TIMEOUT_MS: int(100, 600_000).default(30_000),
    SHUTDOWN_TIMEOUT_MS: int(100).default(15_000),

    // OpenTelemetry (standard OTEL_* names; README "Traces and metrics"). Off unless an endpoint is set.
    /** OTLP/HTTP base URL (protobuf): traces to <it>/v1/traces, metrics to <it>/v1/metrics. */
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
    /** Overrides the traces URL (used as is); alone, it turns traces on without metrics. */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
    /** Overrides the metrics URL (used as is); alone, it turns metrics on without traces. */
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: z.string().url().optional(),
    /** `key=value` pairs, comma-separated, values URL-encoded: sent with every export (an API key). */
    OTEL_EXPORTER_OTLP_HEADERS: z.string().max(8192).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).max(255).default('wa-worker'),
    /** Extra resource attributes, `key=value` comma-separated (deployment.environment.name=prod). */
    OTEL_RESOURCE_ATTRIBUTES: z.string().max(8192).optional(),
    /** How often metrics are exported (ms). */
    OTEL_METRIC_EXPORT_INTERVAL: int(100, 3_600_000).default(60_000),
    /** Read by the OpenTelemetry SDK itself (parentbased_always_on by default; parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG). */
    OTEL_TRACES_SAMPLER: z
      .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
      .optional(),
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
    /** true: telemetry off whatever the endpoints say (the standard switch). */
    OTEL_SDK_DISABLED: bool.default(false),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.WORKER_ID) {
      ctx.addIssue({ code: 'custom', path: ['WORKER_ID'], message: 'required when NODE_ENV=production' });
    }
    if (env.MINIO_ENDPOINT && (!env.MINIO_ACCESS_KEY || !env.MINIO_SECRET_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['MINIO_ACCESS_KEY'], message: 'MINIO_ACCESS_KEY and MINIO_SECRET_KEY are required with MINIO_ENDPOINT' });
    }
  });

export type Env = z.infer<typeof envSchema>;
