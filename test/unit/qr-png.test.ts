import { PNG } from 'pngjs';
import { qrToPngDataUrl } from '../../src/sessions/qr-image.js';
import { decodeQrDataUrl } from '../helpers/qr-decode.js';

describe('QR PNG', () => {
  it.each([
    'https://wa.me/settings/linked_devices#2@1LDXB1MKCgIGxQlA86OH/nX7H1mOEOXtPGH1jNiM,ZqXb0Hc3z1w2Gx9K1oUu0pV4q6pYJ4hP3B6yJv1rW0s=,Vb3n1fJ9qk2l6m0p8s7t5u4v3w2x1y0z9a8b7c6d5e4=,aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a4b5=,1',
    '2@short',
    'x'.repeat(600),
  ])('is a valid PNG data URL that an independent decoder reads back exactly (%#)', async (text) => {
    const url = await qrToPngDataUrl(text);
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const png = PNG.sync.read(Buffer.from(url.slice('data:image/png;base64,'.length), 'base64'));
    expect(png.width).toBe(png.height);
    expect(png.width).toBeGreaterThanOrEqual(100);
    expect(decodeQrDataUrl(url)).toBe(text);
  });
});
