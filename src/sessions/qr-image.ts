import QRCode from 'qrcode';
import qrTerminal from 'qrcode-terminal';

/** The QR as a PNG data URL, as the backend stores and shows it. */
export function qrToPngDataUrl(qr: string): Promise<string> {
  return QRCode.toDataURL(qr, { type: 'image/png', errorCorrectionLevel: 'L', margin: 2, scale: 4 });
}

/** Only with QR_TERMINAL: a QR is a credential for a minute and never goes to the logs. */
export function printQrToTerminal(qr: string, label: string): void {
  qrTerminal.generate(qr, { small: true }, (art) => process.stdout.write(`\n${label}\n${art}\n`));
}
