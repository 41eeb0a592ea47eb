import type { ParseLimits } from './parse-limits.js';

/** Below this a numeric timestamp is in seconds: as milliseconds it would predate September 2001. */
const SECONDS_BELOW = 1e12;

/**
 * The command's `timestamp` as epoch milliseconds, and whether staleness may be judged by it.
 *  - A number is epoch milliseconds, or epoch SECONDS when below 1e12 (as milliseconds that
 *    would be before September 2001; as seconds, 1e12 is 31,000 years away): Jackson writes a
 *    java.time.Instant as decimal seconds (`1733396400.123456789`) by default, a `long` of
 *    System.currentTimeMillis() as milliseconds. 0 is "not set" (a Java long left at its default).
 *  - A string of digits is read as a number. An ISO 8601 date-time WITH an offset or `Z` is an
 *    instant. Any other date string (a LocalDateTime without offset, "Thu, 05 Dec 2024 …") still
 *    gives `issuedAt` as Date.parse reads it, but is not judged: its instant depends on a time
 *    zone the worker cannot know, and a wrong guess would refuse every command.
 */
export function readTimestamp(raw: number | string | undefined): { at: number; checkable: boolean } | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && /^\s*-?[0-9]+(\.[0-9]+)?\s*$/.test(raw)) raw = Number(raw);
  if (typeof raw === 'number') {
    if (raw === 0 || !Number.isFinite(raw)) return undefined;
    return { at: Math.abs(raw) < SECONDS_BELOW ? Math.round(raw * 1000) : raw, checkable: true };
  }
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return { at, checkable: /^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)\s*$/i.test(raw) };
}

/** Why a command issued at `at` is too old or too far in the future; undefined when it is neither. */
export function staleness(at: number, limits: ParseLimits): string | undefined {
  const now = (limits.now ?? Date.now)();
  const age = now - at;
  const when = Math.abs(at) <= 8.64e15 ? ` (timestamp ${new Date(at).toISOString()})` : '';
  if (limits.maxAgeMs !== undefined && limits.maxAgeMs > 0 && age > limits.maxAgeMs) {
    return `command issued ${formatDuration(age)} ago${when}, older than COMMAND_MAX_AGE_MS (${formatDuration(limits.maxAgeMs)})`;
  }
  if (limits.maxClockSkewMs !== undefined && -age > limits.maxClockSkewMs) {
    return `command issued ${formatDuration(-age)} in the future${when}, more than COMMAND_MAX_CLOCK_SKEW_MS (${formatDuration(limits.maxClockSkewMs)}) allows`;
  }
  return undefined;
}

/** `1 h 2 min 3 s`, `450 ms`; days beyond a day. */
function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms > 1e15) return `${ms} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const parts: string[] = [];
  let s = Math.floor(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 3).join(' ');
}
