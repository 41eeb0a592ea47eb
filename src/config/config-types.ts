import type { Env } from './schema.js';
import type { SessionSettings } from '../util/session-settings.js';

/** The typed configuration the rest of the worker receives. Only `main.ts` builds it. */
/** OTLP export (telemetry/otel-telemetry.ts); undefined when no endpoint is set: telemetry off. */
export interface TelemetrySettings {
  tracesEndpoint: string | undefined;
  metricsEndpoint: string | undefined;
  headers: Record<string, string>;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  metricExportIntervalMs: number;
}

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  workerId: string;
  maxSessions: number;
  rabbitmq: {
    /**
     * The broker's addresses (RABBITMQ_URL, comma-separated: the nodes of a cluster), each a full
     * URL, in the order given. The worker connects to the first that answers and, after losing a
     * connection, tries them in turn starting with the one after the node it lost.
     */
    urls: string[];
    /**
     * The broker user in the URLs ('guest' when they name none; every address names the same).
     * RabbitMQ checks a message's `user_id` against its publisher's connection user, so workers
     * stamp worker-to-worker commands with it and accept such commands only when stamped so.
     */
    user: string;
    prefetch: number;
    queueType: 'classic' | 'quorum';
    deliveryLimit: number;
    reconnectMaxDelayMs: number;
  };
  queues: {
    commands: string;
    /** This worker's own command queue: `<commands>.<workerId>`. */
    workerCommands: string;
    sessionEvents: string;
    numberHealth: string;
    deadLetter: string;
    eventsExchange: string;
    workerHeartbeat: string;
    messageEvents: string;
  };
  messaging: {
    sendWaitForOpenMs: number;
    mediaMaxBytes: number;
    mediaFetchTimeoutMs: number;
    /** Absolute limit for a send's `url` file (MEDIA_FETCH_DEADLINE_MS). */
    mediaFetchDeadlineMs: number;
    /** Private hosts and CIDRs a send's `url` may reach (MEDIA_FETCH_ALLOWED_HOSTS); empty: public only. */
    mediaFetchAllowedHosts: string[];
    historyFlushIntervalMs: number;
    /** History after linking: chats/contacts per event and message events awaiting their confirm at once (HISTORY_EVENT_BATCH). */
    historyEventBatch: number;
  };
  heartbeat: { intervalMs: number; queueMaxLength: number };
  /** Send pacing, worker-wide (the per-number rate is in `sessionDefaults.pacing` and each number's settings). */
  pacing: { maxHoldMs: number; warmupDays: number; warmupPerMinute: number; typingMsPerChar: number; typingMaxMs: number };
  telemetry: TelemetrySettings | undefined;
  health: { file: string; maxStaleMs: number; maxBrokerDownMs: number; maxOutboxAgeMs: number };
  eventsContentType: 'application/json' | 'text/plain';
  commandMaxBytes: number;
  commandMaxDepth: number;
  /** Most phones one check_numbers may carry (CHECK_NUMBERS_MAX_BATCH). */
  checkNumbersMaxBatch: number;
  /** The settings of a number that set none of its own (SESSION_REJECT_CALLS, SESSION_REJECT_CALL_MESSAGE, SESSION_AUTO_READ, SESSION_ALWAYS_ONLINE, SESSION_HISTORY_SYNC). */
  sessionDefaults: SessionSettings;
  /** Private hosts and CIDRs a command's proxy may be at (PROXY_ALLOWED_HOSTS); empty: public only. PROXY_URL is not checked. */
  proxyAllowedHosts: string[];
  /** 0: commands are never too old. */
  commandMaxAgeMs: number;
  commandMaxClockSkewMs: number;
  commandMaxAttempts: number;
  /** Worker ids commands may be forwarded to; undefined: any well-formed id. */
  fleetWorkerIds: string[] | undefined;
  pairingCodeMinIntervalMs: number;
  qrTerminal: boolean;
  whatsapp: {
    websocketUrl: string;
    /** Set only when the URL is not WhatsApp's own (an emulator). */
    trustRootPublicKey: Buffer | undefined;
    /**
     * Media hosts trusted besides WhatsApp's (`*.whatsapp.net`): the WebSocket URL's host when it
     * is not WhatsApp's own (an emulator serves media next to it). Received media are fetched
     * only from these: a message's URL is chosen by its sender.
     */
    extraMediaHosts: string[];
    version: [number, number, number] | undefined;
    versionFetchTimeoutMs: number;
    qrTimeoutMs: number | undefined;
    /** Groups whose metadata each session caches for its sends (GROUP_METADATA_CACHE_SIZE; 0: none). */
    groupMetadataCacheSize: number;
    logLevel: Env['BAILEYS_LOG_LEVEL'];
    reconnectBaseDelayMs: number;
    reconnectMaxDelayMs: number;
    maxConflicts: number;
    /** WA_MAX_CONFLICTS conflicts within this window stop a session. */
    conflictWindowMs: number;
    /** How long `request_pairing_code` waits for the socket to be ready for registration. */
    pairingReadyTimeoutMs: number;
  };
  storage: {
    dir: string;
    minio:
      | {
          endPoint: string;
          port: number | undefined;
          useSSL: boolean;
          accessKey: string;
          secretKey: string;
          bucket: string;
          mediaBucket: string;
          region: string;
        }
      | undefined;
    encryptionKey: string | undefined;
    previousEncryptionKeys: string[];
    acceptPlaintext: boolean;
    flushIntervalMs: number;
  };
  /** The durable outbox (OUTBOX_*): where and how much the publisher journals. */
  outbox: { dir: string; maxBytes: number; fsyncIntervalMs: number };
  restoreConcurrency: number;
  /** WhatsApp sockets opening at once across the worker (reconnects wait for a slot). */
  socketsOpeningMax: number;
  /** How long the restore waits for one session to connect before moving to the next. */
  restoreSettleTimeoutMs: number;
  ownershipLeaseMs: number;
  /** How often a standby tries to take its worker queue (exclusive consume). */
  standbyRetryMs: number;
  shutdownTimeoutMs: number;
  /** Non-fatal problems found while parsing, for `main.ts` to log once the logger exists. */
  warnings: string[];
}
