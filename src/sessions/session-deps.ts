import type { Logger } from 'pino';
import type { Events } from '../events/event-publisher.js';
import type { MessagingDeps } from '../messaging/session-messaging.js';
import type { SessionStore } from '../storage/types.js';
import type { WhatsAppConnector } from '../whatsapp/types.js';
import type { SessionSettings } from '../util/session-settings.js';
import type { ReconnectPolicy } from './close-policy.js';
import type { OwnershipPort } from './ownership.js';
import type { Telemetry } from '../telemetry/types.js';
import type { OpeningGate } from './opening-gate.js';

export interface SessionPolicy extends ReconnectPolicy {
  /** Lifetime of a QR as Baileys is configured; undefined = WhatsApp's 60 s then 20 s. */
  qrTimeoutMs: number | undefined;
  /** How long `request_pairing_code` waits for the socket to be ready for registration. */
  pairingReadyTimeoutMs: number;
  /**
   * At most one pairing code per this window (default none): every request makes WhatsApp
   * push a notification to the phone, and WhatsApp throttles numbers that ask too often.
   */
  pairingCodeMinIntervalMs?: number | undefined;
}

/** What a session (and the manager) is built from: interfaces only, no driver. */
export interface SessionDeps {
  workerId: string;
  connector: WhatsAppConnector;
  store: SessionStore;
  events: Events;
  logger: Logger;
  policy: SessionPolicy;
  renderQr: (qr: string) => Promise<string>;
  printQr?: ((qr: string, label: string) => void) | undefined;
  /** The settings of a number that set none of its own (SESSION_* variables); default: all off, historySync recent. */
  settingsDefaults?: SessionSettings | undefined;
  /** Sending and receiving messages; defaults: no media store, no history, 30 s wait. */
  messaging?: MessagingDeps | undefined;
  /** False while the broker is unreachable: another process may be taking this worker's sessions over. */
  ownershipCertain?: () => boolean;
  /** Reassignment between workers (absent: a worker on its own never asks anyone). */
  ownership?: OwnershipPort;
  /** Spans (the lane wait) and metrics (durations, disconnects); default: none. */
  telemetry?: Telemetry | undefined;
  /** The worker-wide cap on sockets opening at once (SOCKETS_OPENING_MAX), shared by all sessions; absent: no cap. */
  openingGate?: OpeningGate | undefined;
}
