/**
 * What an image file says it is, read from its header only (nothing is decoded): a JPEG (its
 * first frame header) or a PNG (its IHDR), with the dimensions it declares. Anything else, or a
 * header cut short, is undefined. Used to refuse a profile picture before an image library
 * decodes it: a file that is not one of the two, or that declares more pixels than a
 * decompression bomb would need, never reaches the decoder.
 */
export interface ImageHeader {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function imageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 24 && b.subarray(0, 8).equals(PNG_SIGNATURE) && b.toString('latin1', 12, 16) === 'IHDR') {
    const width = b.readUInt32BE(16);
    const height = b.readUInt32BE(20);
    return width > 0 && height > 0 ? { format: 'png', width, height } : undefined;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegHeader(b);
  return undefined;
}

/** A frame header (SOF0..SOF15 but DHT, JPG and DAC) before the first scan; each segment skipped by its length. */
function jpegHeader(b: Buffer): ImageHeader | undefined {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // a scan or the end before any frame header
    const length = b.readUInt16BE(i + 2);
    if (length < 2) return undefined;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (i + 9 > b.length) return undefined;
      const height = b.readUInt16BE(i + 5);
      const width = b.readUInt16BE(i + 7);
      return width > 0 && height > 0 ? { format: 'jpeg', width, height } : undefined;
    }
    i += 2 + length;
  }
  return undefined;
}
