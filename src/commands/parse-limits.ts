import type { ProxyPolicy } from '../util/proxy-url.js';

/** MEDIA_MAX_BYTES when the limits leave it out: 16 MiB. */
export const DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024;
/** CHECK_NUMBERS_MAX_BATCH when the limits leave it out. */
export const DEFAULT_CHECK_NUMBERS_MAX_BATCH = 50;
/** COMMAND_MAX_DEPTH when the limits leave it out. */
export const DEFAULT_MAX_DEPTH = 32;

/**
 * What a command may cost. Only `maxBytes` is required (so that older callers compile); an
 * omitted check is off, except the depth guard, which defaults to DEFAULT_MAX_DEPTH.
 */
export interface ParseLimits {
  /** COMMAND_MAX_BYTES: the largest command, not counting the `base64` media of a send_message. */
  maxBytes: number;
  /** MEDIA_MAX_BYTES: the largest decoded `base64` media (default 16 MiB). */
  maxMediaBytes?: number | undefined;
  /** COMMAND_MAX_DEPTH: the deepest nesting of objects and arrays (default 32). */
  maxDepth?: number | undefined;
  /** COMMAND_MAX_AGE_MS: a command whose timestamp is older is STALE; 0 or undefined: no limit. */
  maxAgeMs?: number | undefined;
  /** COMMAND_MAX_CLOCK_SKEW_MS: a command whose timestamp lies further in the future is STALE; undefined: no limit. */
  maxClockSkewMs?: number | undefined;
  /** CHECK_NUMBERS_MAX_BATCH: the most phones one check_numbers may carry (default 50). */
  maxCheckNumbers?: number | undefined;
  /** Where a command's `settings.proxy` may be (PROXY_ALLOWED_HOSTS, PROXY_URL); default: public addresses only. */
  proxyPolicy?: ProxyPolicy | undefined;
  /** The clock staleness is judged by (tests). */
  now?: (() => number) | undefined;
}
