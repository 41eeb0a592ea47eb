import type { ErrorCode } from '../util/errors.js';
import type { SessionSettingsPatch } from '../util/session-settings.js';
import { AddressPolicy } from '../util/address-policy.js';
import { proxyLiteralRefusal, type ProxyPolicy } from '../util/proxy-url.js';

export type SettingsParse = { ok: true; settings: SessionSettingsPatch } | { ok: false; code: ErrorCode; reason: string };

/**
 * `update_settings`'s `settings`: the zod schema already refused unknown fields (naming them) and
 * wrong types; here, the command must change something: `settings` missing or empty is
 * INVALID_COMMAND. (`create` takes `settings` as it is: optional, possibly empty.)
 */
export function parseSettingsUpdate(settings: SessionSettingsPatch | undefined, proxyPolicy?: ProxyPolicy): SettingsParse {
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
  const refused = settingsProxyRefusal(settings, proxyPolicy);
  if (refused) return { ok: false, code: 'INVALID_COMMAND', reason: refused };
  return { ok: true, settings: Object.fromEntries(named) };
}

/** A command's proxy when the worker is given no policy: public addresses only (PROXY_ALLOWED_HOSTS empty). */
const PUBLIC_ONLY: ProxyPolicy = { allowed: AddressPolicy.parse([], 'PROXY_ALLOWED_HOSTS') };

/**
 * Why the `proxy` a command names may not be used, when it is an IP address the policy refuses
 * (a hostname is checked at each connection, where it is resolved: proxy-agent.ts).
 */
export function settingsProxyRefusal(settings: SessionSettingsPatch, proxyPolicy: ProxyPolicy = PUBLIC_ONLY): string | undefined {
  if (typeof settings.proxy !== 'string') return undefined;
  const refusal = proxyLiteralRefusal(settings.proxy, proxyPolicy);
  return refusal ? `settings.proxy: ${refusal}` : undefined;
}
