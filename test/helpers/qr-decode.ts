import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

// jsqr is CommonJS: under ESM its default import is the module object's function.
type JsQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const interop: { default?: JsQr } = jsQRModule as never;
const jsQR: JsQr = interop.default ?? (jsQRModule as never);

/** Decodes a `data:image/png;base64,…` QR back to its string (independently of the encoder). */
export function decodeQrDataUrl(dataUrl: string): string | undefined {
  const prefix = 'data:image/png;base64,';
  if (!dataUrl.startsWith(prefix)) throw new Error('not a PNG data URL');
  const png = PNG.sync.read(Buffer.from(dataUrl.slice(prefix.length), 'base64'));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}
