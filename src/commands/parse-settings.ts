import type { ErrorCode } from '../util/errors.js';
import type { SessionSettingsPatch } from '../util/session-settings.js';

export type SettingsParse = { ok: true; settings: SessionSettingsPatch } | { ok: false; code: ErrorCode; reason: string };

/**
 * `update_settings`'s `settings`: the zod schema already refused unknown fields (naming them) and
 * wrong types; here, the command must change something: `settings` missing or empty is
 * INVALID_COMMAND. (`create` takes `settings` as it is: optional, possibly empty.)
 */
export function parseSettingsUpdate(settings: SessionSettingsPatch | undefined): SettingsParse {
  if (settings === undefined) {
    return { ok: false, code: 'INVALID_COMMAND', reason: '"update_settings" needs "settings", an object with the fields to change' };
  }
  const named = Object.entries(settings).filter(([, v]) => v !== undefined);
  if (named.length === 0) {
    return {
      ok: false,
      code: 'INVALID_COMMAND',
      reason: '"settings" names no field: give at least one of rejectCalls, rejectCallMessage, autoRead, alwaysOnline, historySync, pacing, proxy',
    };
  }
  return { ok: true, settings: Object.fromEntries(named) };
}
