import type { WhatsAppConnection } from '../whatsapp/types.js';

/**
 * What messaging needs from its session. In a file of its own so that the modules
 * SessionMessaging delegates to (answer-command.ts, message-changes.ts) need not import it back.
 */
export interface MessagingHost {
  readonly id: string;
  readonly numberId: number;
  /** The open connection, waiting up to `timeoutMs` for a (re)connecting session; throws NOT_CONNECTED otherwise. */
  connectionForSend(timeoutMs: number): Promise<WhatsAppConnection>;
  /** The number's settings in force (read at each use: `update_settings` applies at once); absent: all off. */
  readonly settings?: { readonly autoRead: boolean } | undefined;
}
