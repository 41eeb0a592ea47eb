import { createHash } from 'node:crypto';

/**
 * The WhatsApp id of the message a `send_message` command sends, derived from (sessionId,
 * requestId): every attempt of one command (a redelivery, a resend after a crash) carries the
 * same id, so the recipient's WhatsApp shows it once. Same shape as Baileys' own ids
 * (`3EB0` + 18 upper-case hex digits, see `generateMessageIDV2`).
 */
export function deriveMessageId(sessionId: string, requestId: string): string {
  const digest = createHash('sha256').update('wa-worker/send_message/v1\0').update(sessionId).update('\0').update(requestId).digest('hex');
  return `3EB0${digest.slice(0, 18).toUpperCase()}`;
}
