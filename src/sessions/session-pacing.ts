import type { NumberPacing } from '../messaging/send-pacer.js';
import { PACING_OFF } from '../util/session-settings.js';
import type { Session } from './session.js';
import type { WhatsAppConnection } from '../whatsapp/types.js';

export interface WarmUp {
  /** Days after linking during which the number sends at most `perMinute` (0: no warm-up). */
  days: number;
  perMinute: number;
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * The pacing a running session's sends follow now (send-pacer.ts): its settings' `pacing`, capped
 * during the warm-up after linking (even a number not paced otherwise is, then). Undefined: not
 * paced. A session linked before the link time was recorded (`linkedAt` unknown) is not warming up.
 */
export function sessionPacing(
  session: Pick<Session, 'settings' | 'linkedAt'>,
  warmUp: WarmUp,
  typing: NumberPacing['typing'],
  now = Date.now(),
): NumberPacing | undefined {
  const pacing = session.settings.pacing;
  const linkedAt = session.linkedAt;
  const warming = warmUp.days > 0 && linkedAt !== undefined && now - linkedAt < warmUp.days * DAY_MS;
  if (!warming && (!pacing || pacing.perMinute <= 0)) return undefined;
  const base = pacing ?? PACING_OFF;
  const perMinute = warming ? Math.min(base.perMinute > 0 ? base.perMinute : Infinity, warmUp.perMinute) : base.perMinute;
  return { rate: { perMinute, burst: base.burst, minGapMs: base.minGapMs, jitterMs: base.jitterMs }, ...(base.typing ? { typing } : {}) };
}

/** `composing` to the recipient for `ms`, then `paused`; a session not connected shows nothing. Never rejects. */
export async function simulateTyping(
  session: { connectionForSend(timeoutMs: number): Promise<Pick<WhatsAppConnection, 'sendPresence'>> },
  toJid: string,
  ms: number,
): Promise<void> {
  try {
    const conn = await session.connectionForSend(0);
    await conn.sendPresence('composing', toJid);
    await new Promise((resolve) => setTimeout(resolve, ms));
    await conn.sendPresence('paused', toJid);
  } catch {
    // Only the show is lost: the send itself decides what a closed session means.
  }
}
