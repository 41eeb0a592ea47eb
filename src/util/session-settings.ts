/**
 * A number's own settings (`create` field `settings`, command `update_settings`): what the
 * session does on its own with calls, read receipts, its presence and history on link. Kept
 * here, beside nothing else, because every layer names them: commands parse them, storage keeps
 * them with the session's metadata, the core applies them and the WhatsApp adapter configures
 * the socket with `historySync`.
 */
export const HISTORY_SYNC_MODES = ['none', 'recent', 'full'] as const;
export type HistorySyncMode = (typeof HISTORY_SYNC_MODES)[number];

/** Longest text sent to a caller after an automatic reject. */
export const REJECT_CALL_MESSAGE_MAX = 1000;

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
}

/**
 * What a command changes: the fields it names; `null` puts a field back to the worker's default
 * (SESSION_* variables). Also what is stored with a session: only what was set for it, so that
 * a field never set follows the defaults.
 */
export type SessionSettingsPatch = { [K in keyof SessionSettings]?: SessionSettings[K] | null | undefined };

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
  return { ...defaults, ...applySettingsPatch(undefined, overrides ?? {}) } as SessionSettings;
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
  return out;
}
