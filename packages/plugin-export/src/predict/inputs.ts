import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { DataError, type InputSpec } from '@kiln/core';
import { decodeImage, normalize, resizeBilinear, toChannels, type RgbaImage } from '@kiln/plugin-data';
import type { ImagePreprocessing } from '../card';
import type { InputArray } from './predictor';
import { textOf, type EncodedText, type TextPreprocessor } from './text';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** One example to predict: its inputs by name, and where it came from. */
export interface PredictInput {
  source: string;
  inputs: Record<string, InputArray>;
  /** Text models: the text and its tokens' character offsets (for entities). */
  text?: EncodedText;
}

/** Decodes PNG or JPEG bytes (an uploaded image); DataError when they are neither. */
export function decodeImageBytes(bytes: Buffer, where: string): RgbaImage {
  try {
    if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (cause) {
    throw new DataError(`cannot decode image: ${(cause as Error).message}`, { where, hint: 'send a PNG or JPEG', cause });
  }
  throw new DataError('not a PNG or JPEG image', { where, hint: 'send a PNG or JPEG' });
}

/** Training's image preprocessing (plugin-data's channels → bilinear resize → normalize). */
export function preprocessImage(image: RgbaImage, pre: ImagePreprocessing): Float32Array {
  const [h, w] = pre.size;
  const c = pre.channels;
  return normalize(resizeBilinear(toChannels(image, c), image.height, image.width, c, h, w), c, pre.mean, pre.std);
}

export function imagePreprocessing(pre: Record<string, unknown> | undefined): ImagePreprocessing | undefined {
  return pre?.kind === 'image' ? (pre as unknown as ImagePreprocessing) : undefined;
}

function size(spec: InputSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

function toArray(values: number[], spec: InputSpec, where: string): InputArray {
  if (values.length !== size(spec)) {
    throw new DataError(`input "${spec.name}" needs ${size(spec)} values (shape [${spec.shape}]) but got ${values.length}`, { where, hint: 'pass values in the model input order' });
  }
  if (values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) throw new DataError(`input "${spec.name}" has a non-numeric value`, { where });
  return spec.dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
}

interface ColumnEncoding {
  name: string;
  kind: 'numeric' | 'categorical';
  mean?: number;
  std?: number;
  categories?: string[];
}

/** Encodes a record of raw cells with the training table's column encodings (standardize / one-hot). */
function encodeColumns(record: Record<string, unknown>, columns: ColumnEncoding[], where: string): number[] {
  const out: number[] = [];
  for (const c of columns) {
    const cell = record[c.name];
    if (cell === undefined || cell === null || cell === '') throw new DataError(`missing column "${c.name}"`, { where, hint: `the model needs columns: ${columns.map((k) => k.name).join(', ')}` });
    if (c.kind === 'numeric') {
      const v = Number(cell);
      if (!Number.isFinite(v)) throw new DataError(`column "${c.name}" is not a number: ${JSON.stringify(cell)}`, { where });
      out.push((v - (c.mean ?? 0)) / (c.std ?? 1));
    } else {
      const k = String(cell).trim();
      for (const cat of c.categories ?? []) out.push(cat === k ? 1 : 0);
    }
  }
  return out;
}

/** Turns one JSON value (array, `{ <input>: [...] }`, flat record of columns) into model inputs. */
export function encodeRecord(value: unknown, specs: InputSpec[], pre: Record<string, unknown> | undefined, where: string): Record<string, InputArray> {
  const flat = (v: unknown): number[] => (Array.isArray(v) ? (v as unknown[]).flat(Infinity as 1) as number[] : [v as number]);
  if (Array.isArray(value)) {
    if (specs.length !== 1) throw new DataError(`the model has ${specs.length} inputs; pass an object keyed by ${specs.map((s) => s.name).join(', ')}`, { where });
    return { [specs[0].name]: toArray(flat(value), specs[0], where) };
  }
  if (typeof value !== 'object' || value === null) throw new DataError('expected an array of numbers or an object', { where });
  const record = value as Record<string, unknown>;
  if (specs.every((s) => s.name in record)) return Object.fromEntries(specs.map((s) => [s.name, toArray(flat(record[s.name]), s, where)]));
  const columns = pre?.columns as ColumnEncoding[] | undefined;
  if (columns && specs.length === 1) return { [specs[0].name]: toArray(encodeColumns(record, columns, where), specs[0], where) };
  const names = pre?.featureNames as string[] | undefined;
  if (names && specs.length === 1) return { [specs[0].name]: toArray(names.map((n) => Number(record[n])), specs[0], where) };
  throw new DataError(`cannot map the record's keys to the model inputs (${specs.map((s) => s.name).join(', ')})`, { where, hint: 'pass { "<input name>": [numbers] } or the training table\'s columns' });
}

function parseCsv(text: string, file: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const split = (line: string): string[] => {
    const cells: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
        else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') cells.push(cur), (cur = '');
      else cur += ch;
    }
    cells.push(cur);
    return cells;
  };
  const header = split(lines[0]).map((h) => h.trim());
  return lines.slice(1).map((line, i) => {
    const cells = split(line);
    if (cells.length !== header.length) throw new DataError(`row has ${cells.length} cells but the header has ${header.length}`, { where: `${file}:${i + 2}` });
    return Object.fromEntries(header.map((h, k) => [h, cells[k]]));
  });
}

function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listImages(p));
    else if (IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(p);
  }
  return out;
}

/** Expands files, folders (images, recursively), CSV and JSONL into examples, with training preprocessing. */
export function readPredictInputs(paths: string[], specs: InputSpec[], pre: Record<string, unknown> | undefined, cwd: string, text?: TextPreprocessor): PredictInput[] {
  const out: PredictInput[] = [];
  const addText = (value: unknown, where: string) => {
    const t = textOf(value);
    if (!t) throw new DataError('a text model needs { "text": "…" } (optionally "text_pair") or a JSON string', { where, hint: 'one text per line of a .jsonl or .txt file, or a "text" column in CSV' });
    const { inputs, encoded } = text!.encode(t.text, t.pair, specs);
    out.push({ source: where, inputs, text: encoded });
  };
  const image = imagePreprocessing(pre);
  const addImage = (file: string) => {
    if (!image) throw new DataError('the model does not take images', { where: file, hint: 'pass CSV or JSONL rows of features' });
    out.push({ source: file, inputs: { [specs[0].name]: preprocessImage(decodeImage(file), image) } });
  };
  for (const p of paths) {
    const file = path.resolve(cwd, p);
    if (!fs.existsSync(file)) throw new DataError(`no such file or folder: ${p}`, { where: p });
    if (fs.statSync(file).isDirectory()) {
      const images = listImages(file);
      if (images.length === 0) throw new DataError('no PNG/JPEG images in the folder', { where: file });
      images.forEach(addImage);
      continue;
    }
    const ext = path.extname(file).toLowerCase();
    if (IMAGE_EXTENSIONS.has(ext)) addImage(file);
    else if (text && ext === '.txt') {
      fs.readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => line.trim() !== '' && addText(line, `${file}:${i + 1}`));
    } else if (text && ext === '.csv') {
      parseCsv(fs.readFileSync(file, 'utf8'), file).forEach((row, i) => addText(row, `${file}:${i + 2}`));
    } else if (ext === '.csv') {
      parseCsv(fs.readFileSync(file, 'utf8'), file).forEach((row, i) => {
        const where = `${file}:${i + 2}`;
        const columns = pre?.columns as unknown[] | undefined;
        const value = columns || pre?.featureNames ? row : Object.values(row).map(Number);
        out.push({ source: where, inputs: encodeRecord(value, specs, pre, where) });
      });
    } else if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') {
      fs.readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
        if (line.trim() === '') return;
        const where = `${file}:${i + 1}`;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new DataError('invalid JSON', { where, hint: 'one JSON value per line' });
        }
        if (text) addText(value, where);
        else out.push({ source: where, inputs: encodeRecord(value, specs, pre, where) });
      });
    } else {
      throw new DataError(`unsupported input file type "${ext}"`, { where: file, hint: text ? 'pass .jsonl, .csv (a "text" column) or .txt (one text per line)' : 'pass PNG/JPEG images, folders, .csv or .jsonl' });
    }
  }
  return out;
}
