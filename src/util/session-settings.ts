/**
 * A number's own settings (`create` field `settings`, command `update_settings`): what the
 * session does on its own with calls, read receipts, its presence and history on link. Kept
 * here, beside nothing else, because every layer names them: commands parse them, storage keeps
 * them with the session's metadata, the core applies them and the WhatsApp adapter configures
 * the socket with `historySync`.
 */
import { isProxyUrl, redactProxyUrl } from './proxy-url.js';

export const HISTORY_SYNC_MODES = ['none', 'recent', 'full'] as const;
export type HistorySyncMode = (typeof HISTORY_SYNC_MODES)[number];

/** Longest text sent to a caller after an automatic reject. */
export const REJECT_CALL_MESSAGE_MAX = 1000;

/** Bounds of a number's send pacing (settings `pacing`, PACING_* variables); see send-pacer.ts. */
export const PACING_LIMITS = {
  perMinute: { min: 0, max: 600 },
  burst: { min: 1, max: 100 },
  minGapMs: { min: 0, max: 600_000 },
  jitterMs: { min: 0, max: 60_000 },
} as const;

/** How a number's sends leave: `perMinute` 0 means unpaced (sent as they come). */
export interface PacingSettings {
  /** Sustained rate: sends per minute (0: no pacing). */
  perMinute: number;
  /** Sends that may leave back to back after a quiet spell. */
  burst: number;
  /** Least time between two sends of the number, whatever the bucket holds. */
  minGapMs: number;
  /** Up to this much random extra wait before each paced send, so the rhythm is not machine-regular. */
  jitterMs: number;
  /** Show `composing` to the recipient before each paced text, for a time that grows with its length, then `paused`. */
  typing: boolean;
}

/** Pacing off: what a number follows when neither PACING_* nor its own settings set any. */
export const PACING_OFF: PacingSettings = { perMinute: 0, burst: 1, minGapMs: 0, jitterMs: 0, typing: false };

export interface SessionSettings {
  /** Reject every incoming call as it rings. */
  rejectCalls: boolean;
  /** With `rejectCalls`: the text sent to the caller after the reject (none when absent). */
  rejectCallMessage?: string | undefined;
  /** Send read receipts for incoming messages once their `message_received` is confirmed. */
  autoRead: boolean;
  /** Announce the account `available` on every connect (Baileys needs the account's push name). */
  alwaysOnline: boolean;
  /** What the session asks WhatsApp for when it links: no history, the recent chats, or everything. Applies at the next link. */
  historySync: HistorySyncMode;
  /** Send pacing (absent: off). A number's own `pacing` overrides the PACING_* defaults field by field. */
  pacing?: PacingSettings | undefined;
  /**
   * The proxy the number's WhatsApp socket and media transfers go through (proxy-url.ts), with its
   * credentials: never published or logged as is (`redactProxyUrl`). Absent: direct. Takes effect
   * at the next connection (update_settings reconnects a running session).
   */
  proxy?: string | undefined;
}

/**
 * What a command changes: the fields it names; `null` puts a field back to the worker's default
 * (SESSION_* variables). Also what is stored with a session: only what was set for it, so that
 * a field never set follows the defaults.
 */
export type SessionSettingsPatch = { [K in Exclude<keyof SessionSettings, 'pacing'>]?: SessionSettings[K] | null | undefined } & {
  /** Only the pacing fields given; the others follow PACING_*. Replaced as a whole by the next `pacing` given. */
  pacing?: Partial<PacingSettings> | null | undefined;
};

/** The stored overrides with `patch` applied (`null` removes a field). */
export function applySettingsPatch(stored: SessionSettingsPatch | undefined, patch: SessionSettingsPatch): SessionSettingsPatch {
  const next: SessionSettingsPatch = { ...stored };
  for (const [key, value] of Object.entries(patch) as Array<[keyof SessionSettingsPatch, SessionSettingsPatch[keyof SessionSettingsPatch]]>) {
    if (value === undefined) continue;
    if (value === null) delete next[key];
    else Object.assign(next, { [key]: value });
  }
  return next;
}

/** The settings in force: the worker's defaults, overridden by the session's own. */
export function effectiveSettings(defaults: SessionSettings, overrides: SessionSettingsPatch | undefined): SessionSettings {
  const own = applySettingsPatch(undefined, overrides ?? {});
  const settings = { ...defaults, ...own } as SessionSettings;
  if (own.pacing) settings.pacing = { ...(defaults.pacing ?? PACING_OFF), ...own.pacing };
  else if (!defaults.pacing) delete settings.pacing;
  return settings;
}

/** Defaults when the worker is given none (the SESSION_* variables' own defaults). */
export const DEFAULT_SESSION_SETTINGS: SessionSettings = { rejectCalls: false, autoRead: false, alwaysOnline: false, historySync: 'recent' };

/**
 * Settings as read back from storage, checked field by field: a field of the wrong type or out of
 * bounds (an older or tampered record) is left out, so it falls back to the default.
 */
export function storedSettings(value: unknown): SessionSettingsPatch | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const out: SessionSettingsPatch = {};
  for (const key of ['rejectCalls', 'autoRead', 'alwaysOnline'] as const) if (typeof v[key] === 'boolean') out[key] = v[key];
  const message = v.rejectCallMessage;
  if (typeof message === 'string' && message.length > 0 && message.length <= REJECT_CALL_MESSAGE_MAX) out.rejectCallMessage = message;
  const history = v.historySync;
  if (typeof history === 'string' && (HISTORY_SYNC_MODES as readonly string[]).includes(history)) out.historySync = history as HistorySyncMode;
  if (isProxyUrl(v.proxy)) out.proxy = v.proxy;
  const pacing = storedPacing(v.pacing);
  if (pacing) out.pacing = pacing;
  return out;
}

/** A stored `pacing`, field by field (a field out of bounds is left out: it follows PACING_*). */
function storedPacing(value: unknown): Partial<PacingSettings> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const out: Partial<PacingSettings> = {};
  for (const key of Object.keys(PACING_LIMITS) as Array<keyof typeof PACING_LIMITS>) {
    const n = v[key];
    const { min, max } = PACING_LIMITS[key];
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) out[key] = n;
  }
  if (typeof v.typing === 'boolean') out.typing = v.typing;
  return out;
}

/** Settings as they may be shown (events, logs): the proxy without its password. */
export function shownSettings(settings: SessionSettings): SessionSettings {
  return settings.proxy ? { ...settings, proxy: redactProxyUrl(settings.proxy) } : settings;
}
