import pino, { type Logger } from 'pino';

/**
 * QR strings and pairing codes are credentials for a minute; keys and creds are credentials
 * for ever. None of them ever reach the logs.
 */
export const REDACTED_PATHS = [
  'qr',
  'qrCode',
  'qrString',
  'pairingCode',
  'creds',
  'keys',
  'privKey',
  'private',
  '*.qr',
  '*.qrCode',
  '*.qrString',
  '*.pairingCode',
  '*.creds',
  '*.keys',
  '*.private',
  '*.privKey',
  '*.noiseKey',
  '*.signedIdentityKey',
  '*.advSecretKey',
  'password',
  '*.password',
  'secretKey',
  '*.secretKey',
];

export function createLogger(opts: { level: string; workerId: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { workerId: opts.workerId },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
