import * as fs from 'node:fs';
import { DataError } from '../errors';
import { writeFileAtomic } from './atomic';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface StoredTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Serializes tensors in the safetensors format (8-byte LE header length, JSON header, raw LE data). */
export function encodeSafetensors(tensors: Record<string, StoredTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parses a safetensors buffer; F16/BF16/F64 widen or narrow to float32, I64/I16/I8/U8/BOOL to int32. */
export function decodeSafetensors(buf: Buffer, source = 'safetensors'): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new DataError('file too short for a safetensors header', { where: source });
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (8 + headerLength > buf.length) throw new DataError(`header length ${headerLength} exceeds the file size`, { where: source, hint: 'the file is truncated or not safetensors' });
  let header: Record<string, { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (error) {
    throw new DataError(`invalid safetensors header JSON: ${(error as Error).message}`, { where: source });
  }
  const base = 8 + headerLength;
  const tensors: Record<string, StoredTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] };
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(dtype in BYTES)) throw new DataError(`tensor '${name}' has unsupported dtype ${dtype}`, { where: source });
    if (end - begin !== size * BYTES[dtype] || base + end > buf.length) {
      throw new DataError(`tensor '${name}' byte range [${begin}, ${end}) does not match shape [${shape}] of ${dtype}`, { where: source });
    }
    const bytes = buf.subarray(base + begin, base + end);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let data: Float32Array | Int32Array;
    let outType: 'float32' | 'int32' = 'float32';
    switch (dtype) {
      case 'F32':
        data = new Float32Array(size);
        for (let i = 0; i < size; i++) data[i] = view.getFloat32(i * 4, true);
        break;
      case 'F64':
        data = new Float32Array(size);
        for (let i = 0; i < size; i++) data[i] = view.getFloat64(i * 8, true);
        break;
      case 'F16':
        data = new Float32Array(size);
        for (let i = 0; i < size; i++) data[i] = halfToFloat(view.getUint16(i * 2, true));
        break;
      case 'BF16':
        data = new Float32Array(size);
        {
          const bits = new Uint32Array(data.buffer);
          for (let i = 0; i < size; i++) bits[i] = view.getUint16(i * 2, true) << 16;
        }
        break;
      default: {
        outType = 'int32';
        data = new Int32Array(size);
        for (let i = 0; i < size; i++) {
          data[i] =
            dtype === 'I32' ? view.getInt32(i * 4, true)
            : dtype === 'I64' ? Number(view.getBigInt64(i * 8, true))
            : dtype === 'I16' ? view.getInt16(i * 2, true)
            : dtype === 'I8' ? view.getInt8(i)
            : view.getUint8(i);
        }
      }
    }
    tensors[name] = { dtype: outType, shape, data };
  }
  return { tensors, metadata };
}

export function writeSafetensors(file: string, tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (error) {
    throw new DataError(`cannot read ${file}: ${(error as Error).message}`, { where: file });
  }
  return decodeSafetensors(buf, file);
}
