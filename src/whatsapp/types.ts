import type { AuthStateHandle } from '../storage/types.js';

/**
 * The WhatsApp boundary as the session logic sees it. The Baileys adapter is one
 * implementation; unit tests use a fake that `satisfies WhatsAppConnector`.
 */
export interface LinkedAccount {
  /** The account's device JID, e.g. `221771234567:12@s.whatsapp.net`. */
  jid: string;
  /** Digits of the linked phone number. */
  phoneNumber: string;
  lid?: string;
}

export type WhatsAppEvent =
  | { type: 'qr'; qr: string }
  | { type: 'open'; account: LinkedAccount }
  /** The socket closed; Baileys' status code (see `disconnect-reasons.ts`). */
  | { type: 'close'; statusCode: number | undefined; message: string };

export interface WhatsAppConnectParams {
  sessionId: string;
  auth: AuthStateHandle;
  onEvent: (event: WhatsAppEvent) => void;
}

export interface WhatsAppConnection {
  /** Link by an 8-character code instead of a QR. Only valid before linking. */
  requestPairingCode(phoneDigits: string): Promise<string>;
  /** Unlink from the phone. The socket closes afterwards (a `close` event with 401 follows). */
  logout(): Promise<void>;
  /** Close the socket, keep the credentials. Emits no further events. */
  end(): void;
}

export interface WhatsAppConnector {
  connect(params: WhatsAppConnectParams): WhatsAppConnection;
}
