import makeWASocket, { Browsers, type WAVersion } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { WhatsAppConnection, WhatsAppConnector, WhatsAppConnectParams } from './types.js';

export interface BaileysConnectorOptions {
  websocketUrl: string;
  version: WAVersion;
  qrTimeoutMs: number | undefined;
  /** Baileys' own logs (a child of the worker's logger, at its own level). */
  logger: Logger;
}

/**
 * The WhatsApp boundary implemented with Baileys. It only translates: Baileys' events become
 * `WhatsAppEvent`s, `creds.update` is handed to the auth state. All decisions are the session's.
 */
export function createBaileysConnector(opts: BaileysConnectorOptions): WhatsAppConnector {
  return {
    connect({ sessionId, auth, onEvent }: WhatsAppConnectParams): WhatsAppConnection {
      let ended = false;
      const emit: typeof onEvent = (event) => {
        if (!ended) onEvent(event);
      };
      const sock = makeWASocket({
        waWebSocketUrl: opts.websocketUrl,
        version: opts.version,
        auth: auth.state,
        logger: opts.logger.child({ sessionId }) as never,
        browser: Browsers.ubuntu('Chrome'),
        ...(opts.qrTimeoutMs ? { qrTimeout: opts.qrTimeoutMs } : {}),
        // A headless worker keeps no chat store: no full history, no presence, no link previews.
        // (The initial history sync stays on: Baileys learns LID mappings from it.)
        markOnlineOnConnect: false,
        syncFullHistory: false,
        generateHighQualityLinkPreview: false,
        fireInitQueries: true,
        getMessage: async () => undefined,
      });

      sock.ev.on('creds.update', () => auth.saveCreds());
      sock.ev.on('connection.update', (update) => {
        if (update.qr) emit({ type: 'qr', qr: update.qr });
        if (update.connection === 'open') {
          const me = sock.user ?? auth.state.creds.me;
          const jid = me?.id ?? '';
          emit({
            type: 'open',
            account: { jid, phoneNumber: jid.split(/[:@]/)[0] ?? '', ...(me?.lid ? { lid: me.lid } : {}) },
          });
        }
        if (update.connection === 'close') {
          const error = update.lastDisconnect?.error as { output?: { statusCode?: number }; message?: string } | undefined;
          emit({ type: 'close', statusCode: error?.output?.statusCode, message: error?.message ?? 'connection closed' });
          ended = true;
        }
      });

      return {
        requestPairingCode: (phoneDigits) => sock.requestPairingCode(phoneDigits),
        logout: () => sock.logout(),
        end: () => {
          if (ended) return;
          ended = true;
          sock.end(undefined);
        },
      };
    },
  };
}
