import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { DataError } from '@kiln/core';

/** Decoded 8-bit RGBA pixels, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Bytes read to validate a header: JPEG SOF markers sit after EXIF/ICC segments, which are rarely this large. */
const HEADER_BYTES = 256 * 1024;

function readHead(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const n = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads width and height from a PNG or JPEG header without decoding pixels; DataError if unreadable. */
export function readImageHeader(file: string): { width: number; height: number; format: 'png' | 'jpeg' } {
  let head: Buffer;
  try {
    head = readHead(file);
  } catch (cause) {
    throw new DataError(`cannot read image ${file}`, { where: file, cause });
  }
  const bad = (why: string) => new DataError(`corrupt or unsupported image: ${why}`, { where: file, hint: 'remove or re-encode the file (PNG or baseline/progressive JPEG)' });
  if (head.length >= 24 && head.subarray(0, 8).equals(PNG_SIGNATURE)) {
    if (head.toString('latin1', 12, 16) !== 'IHDR') throw bad('PNG without IHDR chunk');
    const width = head.readUInt32BE(16);
    const height = head.readUInt32BE(20);
    if (width === 0 || height === 0) throw bad('PNG with zero size');
    return { width, height, format: 'png' };
  }
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xd8) {
    let at = 2;
    while (at + 9 < head.length) {
      if (head[at] !== 0xff) throw bad(`JPEG marker expected at byte ${at}`);
      const marker = head[at + 1];
      if (marker === 0xff) {
        at += 1;
        continue;
      }
      const length = head.readUInt16BE(at + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        const height = head.readUInt16BE(at + 5);
        const width = head.readUInt16BE(at + 7);
        if (width === 0 || height === 0) throw bad('JPEG with zero size');
        return { width, height, format: 'jpeg' };
      }
      if (length < 2) throw bad('JPEG segment with invalid length');
      at += 2 + length;
    }
    throw bad('no JPEG frame header found');
  }
  throw bad('not a PNG or JPEG file');
}

/** Decodes a PNG (pngjs) or JPEG (jpeg-js) file to RGBA; DataError naming the path if it fails. */
export function decodeImage(file: string): RgbaImage {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (cause) {
    throw new DataError(`cannot read image ${file}`, { where: file, cause });
  }
  try {
    if (buf.subarray(0, 8).equals(PNG_SIGNATURE)) {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, data: img.data };
  } catch (cause) {
    throw new DataError(`cannot decode image: ${(cause as Error).message}`, { where: file, hint: 'remove or re-encode the file', cause });
  }
}

/** Encodes 8-bit RGB or gray pixels ([h, w, c], c = 1 or 3) as PNG bytes. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = pixels[i * channels];
    png.data[i * 4 + 1] = pixels[i * channels + (channels === 3 ? 1 : 0)];
    png.data[i * 4 + 2] = pixels[i * channels + (channels === 3 ? 2 : 0)];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
