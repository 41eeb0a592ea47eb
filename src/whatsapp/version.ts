import { DEFAULT_CONNECTION_CONFIG, fetchLatestBaileysVersion, type WAVersion } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';

/**
 * Which WhatsApp Web version to announce. An explicit WA_VERSION wins. Against WhatsApp itself
 * we ask for the latest, bounded in time (it needs the internet) and falling back to the version
 * Baileys ships with; against an emulator there is nothing to fetch.
 */
export async function resolveWaVersion(opts: {
  configured: [number, number, number] | undefined;
  fetchLatest: boolean;
  timeoutMs: number;
  logger: Logger;
}): Promise<WAVersion> {
  const bundled = DEFAULT_CONNECTION_CONFIG.version;
  if (opts.configured) return opts.configured;
  if (!opts.fetchLatest || opts.timeoutMs === 0) return bundled;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), opts.timeoutMs)));
  try {
    const latest = await Promise.race([fetchLatestBaileysVersion().catch(() => undefined), timeout]);
    if (latest?.version && latest.isLatest !== false) return latest.version as WAVersion;
    opts.logger.warn({ version: bundled.join('.') }, 'could not fetch the latest WhatsApp Web version; using the bundled one');
    return bundled;
  } finally {
    clearTimeout(timer);
  }
}
