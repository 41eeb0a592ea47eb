import qrTerminal from 'qrcode-terminal';
import { qrToPng } from './qr-png.js';

/** The QR as a PNG data URL, as the backend stores and shows it. */
export async function qrToPngDataUrl(qr: string): Promise<string> {
  return `data:image/png;base64,${qrToPng(qr).toString('base64')}`;
}

/** Only with QR_TERMINAL: a QR is a credential for a minute and never goes to the logs. */
export function printQrToTerminal(qr: string, label: string): void {
  qrTerminal.generate(qr, { small: true }, (art) => process.stdout.write(`\n${label}\n${art}\n`));
}
