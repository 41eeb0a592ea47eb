import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { envSchema, WHATSAPP_WEBSOCKET_URL } from './schema.js';
import type { Config } from './config-types.js';
import { AddressPolicy } from '../util/address-policy.js';
import type { ProxyPolicy } from '../util/proxy-url.js';
import { telemetrySettings } from './telemetry-settings.js';

export type { Config } from './config-types.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads `NAME_FILE` for every `NAME` that supports it (Docker and Kubernetes secrets), so a
 * secret never has to sit in the environment. An explicit `NAME` wins over `NAME_FILE`.
 */
const FILE_VARIABLES = [
  'RABBITMQ_URL',
  'MINIO_ACCESS_KEY',
  'MINIO_SECRET_KEY',
  'SESSION_ENCRYPTION_KEY',
  'SESSION_ENCRYPTION_PREVIOUS_KEYS',
  'PROXY_URL',
] as const;

function resolveFileSecrets(source: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...source };
  for (const name of FILE_VARIABLES) {
    const file = source[`${name}_FILE`];
    if (env[name] === undefined && file) {
      try {
        env[name] = readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new ConfigError(`${name}_FILE: cannot read ${file} (${(err as Error).message})`);
      }
    }
  }
  // An empty variable means "not set", as in most shells' .env handling.
  for (const [k, v] of Object.entries(env)) if (v === '') env[k] = undefined;
  return env;
}

/** Accepts `host`, `host:port` (as the backend's documents write it) or a full `http(s)://host:port` URL. */
function parseMinioEndpoint(raw: string, port: number | undefined, useSSL: boolean): { endPoint: string; port: number | undefined; useSSL: boolean } {
  const url = new URL(/^https?:\/\//.test(raw) ? raw : `${useSSL ? 'https' : 'http'}://${raw}`);
  return {
    endPoint: url.hostname,
    port: port ?? (url.port ? Number(url.port) : undefined),
    useSSL: url.protocol === 'https:',
  };
}

/**
 * The broker user a connection URL logs in as (its decoded user name; 'guest', RabbitMQ's
 * default, when it names none): the only `user_id` the broker lets that connection publish with.
 */
export function brokerUser(url: string): string {
  let name: string;
  try {
    name = new URL(url).username;
  } catch {
    return 'guest';
  }
  try {
    return decodeURIComponent(name) || 'guest';
  } catch {
    return name || 'guest';
  }
}

/**
 * RABBITMQ_URL's addresses, each made a full URL: `amqp://u:p@node1:5672,amqp://u:p@node2:5672`,
 * or the short form `amqp://u:p@node1:5672/vh,node2:5672,node3` where an entry without a scheme
 * is a `host[:port]` that takes the first URL's scheme, credentials, vhost and query (and its
 * port when it names none). Every address must log in as the same user: workers stamp
 * `user_id` with it. A comma inside a password must be written %2C. Errors never echo a password.
 */
export function parseBrokerAddresses(raw: string): string[] {
  const entries = raw.split(',').map((s) => s.trim());
  if (entries.some((s) => !s)) throw new ConfigError('Invalid configuration:\n  RABBITMQ_URL: an empty address in the list');
  const fail = (n: number, why: string): never => {
    throw new ConfigError(`Invalid configuration:\n  RABBITMQ_URL: address ${n} ${why}`);
  };
  let first: URL | undefined;
  const urls = entries.map((entry, i) => {
    const n = i + 1;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      if (!/^amqps?:\/\//i.test(entry)) fail(n, 'is not an amqp:// or amqps:// URL');
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        return fail(n, 'is not a valid URL');
      }
      if (!url.hostname) fail(n, 'names no host');
      first ??= url;
      return url.href;
    }
    if (!first) return fail(n, 'must be a full amqp:// or amqps:// URL (later ones may be host:port)');
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(entry);
    if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return fail(n, 'is neither a URL nor host[:port]');
    const url = new URL(first.href);
    url.hostname = m[1]!;
    if (m[2] !== undefined) url.port = m[2];
    return url.href;
  });
  const users = urls.map(brokerUser);
  const other = users.findIndex((u) => u !== users[0]);
  if (other > 0) {
    fail(
      other + 1,
      `logs in as "${users[other]}" but address 1 as "${users[0]}": every address must name the same broker user (workers stamp user_id with it)`,
    );
  }
  return urls;
}

/** `a, b,,c` → ['a', 'b', 'c']. */
function splitList(raw: string | undefined): string[] {
  return (
    raw
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? []
  );
}

export function loadConfig(source: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(resolveFileSecrets(source));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const warnings: string[] = [];
  const workerId =
    e.WORKER_ID ??
    `dev-${hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 40)}`;
  if (!e.WORKER_ID) warnings.push(`WORKER_ID is not set; using "${workerId}" (development default)`);

  const isWhatsApp = e.WA_WEBSOCKET_URL === WHATSAPP_WEBSOCKET_URL || /(^|\.)whatsapp\.(net|com)(:|\/|$)/.test(new URL(e.WA_WEBSOCKET_URL).host + '/');
  let trustRootPublicKey: Buffer | undefined;
  if (e.WA_TRUST_ROOT_PUBLIC_KEY) {
    if (isWhatsApp) warnings.push("WA_TRUST_ROOT_PUBLIC_KEY is ignored: it is honoured only when WA_WEBSOCKET_URL is not WhatsApp's own");
    else trustRootPublicKey = Buffer.from(e.WA_TRUST_ROOT_PUBLIC_KEY, 'hex');
  }

  try {
    AddressPolicy.parse(splitList(e.MEDIA_FETCH_ALLOWED_HOSTS)); // fail at start, not at the first send
    AddressPolicy.parse(splitList(e.PROXY_ALLOWED_HOSTS), 'PROXY_ALLOWED_HOSTS');
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ${(err as Error).message}`);
  }

  const brokerUrls = parseBrokerAddresses(e.RABBITMQ_URL);
  const version = e.WA_VERSION ? (e.WA_VERSION.split(/[.,]/).map(Number) as [number, number, number]) : undefined;

  if (e.QUEUE_SESSION_EVENTS === e.QUEUE_SESSION_COMMANDS) {
    warnings.push(
      `QUEUE_SESSION_EVENTS equals QUEUE_SESSION_COMMANDS ("${e.QUEUE_SESSION_COMMANDS}"): workers and the backend will consume each other's messages. ` +
        'Use a separate events queue (see README, "Why events have their own queue").',
    );
  }
  if (!e.SESSION_ENCRYPTION_KEY) {
    if (e.NODE_ENV === 'production')
      throw new ConfigError('Invalid configuration:\n  SESSION_ENCRYPTION_KEY: required when NODE_ENV=production (64 hex characters or base64 of 32 bytes)');
    warnings.push('SESSION_ENCRYPTION_KEY is not set: WhatsApp credentials are stored UNENCRYPTED');
  }

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    workerId,
    maxSessions: e.WORKER_MAX_SESSIONS,
    rabbitmq: {
      urls: brokerUrls,
      user: brokerUser(brokerUrls[0]!),
      prefetch: e.RABBITMQ_PREFETCH,
      queueType: e.RABBITMQ_QUEUE_TYPE,
      deliveryLimit: e.RABBITMQ_DELIVERY_LIMIT,
      reconnectMaxDelayMs: e.RABBITMQ_RECONNECT_MAX_DELAY_MS,
    },
    queues: {
      commands: e.QUEUE_SESSION_COMMANDS,
      workerCommands: `${e.QUEUE_SESSION_COMMANDS}.${workerId}`,
      sessionEvents: e.QUEUE_SESSION_EVENTS,
      numberHealth: e.QUEUE_NUMBER_HEALTH,
      deadLetter: e.QUEUE_DEAD_LETTER,
      eventsExchange: e.EVENTS_EXCHANGE,
      workerHeartbeat: e.QUEUE_WORKER_HEARTBEAT,
      messageEvents: e.QUEUE_MESSAGE_EVENTS,
    },
    messaging: {
      sendWaitForOpenMs: e.SEND_WAIT_FOR_OPEN_MS,
      mediaMaxBytes: e.MEDIA_MAX_BYTES,
      mediaFetchTimeoutMs: e.MEDIA_FETCH_TIMEOUT_MS,
      mediaFetchDeadlineMs: e.MEDIA_FETCH_DEADLINE_MS,
      mediaFetchAllowedHosts: splitList(e.MEDIA_FETCH_ALLOWED_HOSTS),
      historyFlushIntervalMs: e.MESSAGE_LOG_FLUSH_INTERVAL_MS,
      historyEventBatch: e.HISTORY_EVENT_BATCH,
    },
    heartbeat: { intervalMs: e.HEARTBEAT_INTERVAL_MS, queueMaxLength: e.HEARTBEAT_QUEUE_MAX_LENGTH },
    telemetry: telemetrySettings(e),
    health: {
      file: e.HEALTH_FILE ?? join(tmpdir(), `wa-worker-${workerId}.health.json`),
      maxStaleMs: e.HEALTHCHECK_MAX_STALE_MS,
      maxBrokerDownMs: e.HEALTHCHECK_MAX_BROKER_DOWN_MS,
      maxOutboxAgeMs: e.HEALTHCHECK_MAX_OUTBOX_AGE_MS,
    },
    eventsContentType: e.EVENTS_CONTENT_TYPE,
    commandMaxBytes: e.COMMAND_MAX_BYTES,
    commandMaxDepth: e.COMMAND_MAX_DEPTH,
    checkNumbersMaxBatch: e.CHECK_NUMBERS_MAX_BATCH,
    proxyAllowedHosts: splitList(e.PROXY_ALLOWED_HOSTS),
    sessionDefaults: {
      rejectCalls: e.SESSION_REJECT_CALLS,
      ...(e.SESSION_REJECT_CALL_MESSAGE ? { rejectCallMessage: e.SESSION_REJECT_CALL_MESSAGE } : {}),
      autoRead: e.SESSION_AUTO_READ,
      alwaysOnline: e.SESSION_ALWAYS_ONLINE,
      historySync: e.SESSION_HISTORY_SYNC,
      ...(e.PROXY_URL ? { proxy: e.PROXY_URL } : {}),
      // Off by default: a number is paced only with PACING_PER_MINUTE > 0 or its own `pacing`.
      ...(e.PACING_PER_MINUTE > 0
        ? {
            pacing: {
              perMinute: e.PACING_PER_MINUTE,
              burst: e.PACING_BURST,
              minGapMs: e.PACING_MIN_GAP_MS,
              jitterMs: e.PACING_JITTER_MS,
              typing: e.PACING_TYPING,
            },
          }
        : {}),
    },
    pacing: {
      maxHoldMs: e.PACING_MAX_HOLD_MS,
      warmupDays: e.PACING_WARMUP_DAYS,
      warmupPerMinute: e.PACING_WARMUP_PER_MINUTE,
      typingMsPerChar: e.PACING_TYPING_MS_PER_CHAR,
      typingMaxMs: e.PACING_TYPING_MAX_MS,
    },
    commandMaxAgeMs: e.COMMAND_MAX_AGE_MS,
    commandMaxClockSkewMs: e.COMMAND_MAX_CLOCK_SKEW_MS,
    commandMaxAttempts: e.COMMAND_MAX_ATTEMPTS,
    fleetWorkerIds: e.FLEET_WORKER_IDS ? splitList(e.FLEET_WORKER_IDS) : undefined,
    pairingCodeMinIntervalMs: e.PAIRING_CODE_MIN_INTERVAL_MS,
    qrTerminal: e.QR_TERMINAL,
    whatsapp: {
      websocketUrl: e.WA_WEBSOCKET_URL,
      trustRootPublicKey,
      extraMediaHosts: isWhatsApp ? [] : [new URL(e.WA_WEBSOCKET_URL).hostname],
      version,
      versionFetchTimeoutMs: e.WA_VERSION_FETCH_TIMEOUT_MS,
      qrTimeoutMs: e.WA_QR_TIMEOUT_MS,
      groupMetadataCacheSize: e.GROUP_METADATA_CACHE_SIZE,
      logLevel: e.BAILEYS_LOG_LEVEL,
      reconnectBaseDelayMs: e.WA_RECONNECT_BASE_DELAY_MS,
      reconnectMaxDelayMs: e.WA_RECONNECT_MAX_DELAY_MS,
      maxConflicts: e.WA_MAX_CONFLICTS,
      conflictWindowMs: e.WA_CONFLICT_WINDOW_MS,
      pairingReadyTimeoutMs: e.WA_PAIRING_READY_TIMEOUT_MS,
    },
    storage: {
      dir: e.STORAGE_DIR,
      minio: e.MINIO_ENDPOINT
        ? {
            ...parseMinioEndpoint(e.MINIO_ENDPOINT, e.MINIO_PORT, e.MINIO_USE_SSL),
            accessKey: e.MINIO_ACCESS_KEY!,
            secretKey: e.MINIO_SECRET_KEY!,
            bucket: e.MINIO_BUCKET_NAME,
            mediaBucket: e.MINIO_MEDIA_BUCKET_NAME,
            region: e.MINIO_REGION,
          }
        : undefined,
      encryptionKey: e.SESSION_ENCRYPTION_KEY,
      previousEncryptionKeys: splitList(e.SESSION_ENCRYPTION_PREVIOUS_KEYS),
      flushIntervalMs: e.AUTH_FLUSH_INTERVAL_MS,
      acceptPlaintext: e.SESSION_ENCRYPTION_ACCEPT_PLAINTEXT,
    },
    outbox: {
      dir: e.OUTBOX_DIR ?? join(e.STORAGE_DIR, 'outbox', workerId),
      maxBytes: e.OUTBOX_MAX_BYTES,
      fsyncIntervalMs: e.OUTBOX_FSYNC_INTERVAL_MS,
    },
    restoreConcurrency: e.RESTORE_CONCURRENCY,
    socketsOpeningMax: e.SOCKETS_OPENING_MAX,
    restoreSettleTimeoutMs: e.RESTORE_SETTLE_TIMEOUT_MS,
    ownershipLeaseMs: e.OWNERSHIP_LEASE_MS,
    standbyRetryMs: e.STANDBY_RETRY_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    warnings,
  };
}

/** Where a command's proxy may be (PROXY_ALLOWED_HOSTS) and which proxy is the operator's own (PROXY_URL, unchecked). */
export function proxyPolicyOf(config: Pick<Config, 'proxyAllowedHosts' | 'sessionDefaults'>): ProxyPolicy {
  return { allowed: AddressPolicy.parse(config.proxyAllowedHosts, 'PROXY_ALLOWED_HOSTS'), trusted: config.sessionDefaults.proxy };
}
