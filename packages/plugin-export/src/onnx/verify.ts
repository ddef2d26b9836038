import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { mulberry32, TrainingError } from '@kiln/core';

export interface VerifyReport {
  maxAbsDiff: number;
  batchSizes: number[];
  tolerance: number;
}

/** Smallest vocabulary of the Embedding layers, so integer sample inputs are valid ids. */
function idLimit(model: LayersModel): number {
  let limit = 10;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Embedding') limit = Math.min(limit, (layer.getConfig().inputDim as number) ?? limit);
  }
  return Math.max(1, limit);
}

/** Sample inputs for each model input: standard-normal floats or valid integer ids, `batch` rows. */
export function sampleInputs(model: LayersModel, batch: number, seed = 7): { data: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' }[] {
  const next = mulberry32(seed); // reproducible verification inputs
  return model.inputs.map((input) => {
    const shape = [batch, ...input.shape.slice(1).map((d) => d ?? 4)];
    const n = shape.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int32') {
      const limit = idLimit(model);
      return { data: Int32Array.from({ length: n }, () => Math.floor(next() * limit)), shape, dtype: 'int32' as const };
    }
    // Box–Muller
    const data = Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
    return { data, shape, dtype: 'float32' as const };
  });
}

/** An ONNX Runtime session for `bytes`; a graph ONNX Runtime rejects is a converter bug. */
async function createSession(bytes: Uint8Array, what: string, where: string | undefined, hint: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes);
  } catch (cause) {
    throw new TrainingError(`ONNX Runtime rejected the exported ${what}: ${(cause as Error).message}`, { where, hint, cause });
  }
}

/** The larger of `max` and the largest |got - expected| (Infinity for a NaN difference). */
function maxDifference(got: Float32Array, expected: Float32Array, max: number, context: string, where: string | undefined, hint: string): number {
  if (got.length !== expected.length) {
    throw new TrainingError(`ONNX output has ${got.length} values but Kiln's has ${expected.length} (${context})`, { where, hint });
  }
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - expected[i]);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : Math.max(max, d);
  }
  return max;
}

/** Runs the ONNX model in ONNX Runtime and the tfjs model on the same inputs; throws if they differ. */
export async function verifyOnnx(model: LayersModel, bytes: Uint8Array, inputNames: string[], outputName: string, options: { tolerance: number; batchSizes: number[]; where?: string }): Promise<VerifyReport> {
  const bug = 'this is a converter bug; export with --format tfjs meanwhile';
  const session = await createSession(bytes, 'graph', options.where, bug);
  let maxAbsDiff = 0;
  try {
    for (const batch of options.batchSizes) {
      const inputs = sampleInputs(model, batch, 7 + batch);
      const feeds: Record<string, ort.Tensor> = {};
      inputs.forEach((x, i) => (feeds[inputNames[i]] = new ort.Tensor(x.dtype, x.data, x.shape)));
      const result = await session.run(feeds);
      const got = result[outputName].data as Float32Array;
      const expected = tf.tidy(() => {
        const xs = inputs.map((x) => tf.tensor(x.data, x.shape, x.dtype));
        const y = model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
        return y.dataSync().slice() as Float32Array;
      });
      maxAbsDiff = maxDifference(got, expected, maxAbsDiff, `batch ${batch}`, options.where, bug);
    }
  } finally {
    await session.release();
  }
  if (!(maxAbsDiff <= options.tolerance)) {
    throw new TrainingError(`ONNX export does not match the Kiln model: max |diff| ${maxAbsDiff.toExponential(3)} > ${options.tolerance}`, {
      where: options.where,
      hint: 'the graph converts but computes something else; report it with the model config, and export with --format tfjs meanwhile',
    });
  }
  return { maxAbsDiff, batchSizes: options.batchSizes, tolerance: options.tolerance };
}

/** BERT-style sample rows: ids in [0, vocab), right padding (row r has r fewer tokens), token types 0 then 1. */
export function sampleTextInputs(batch: number, length: number, vocab: number, typeVocab: number, seed = 11): { ids: Int32Array; mask: Int32Array; types: Int32Array } {
  const next = mulberry32(seed); // reproducible verification inputs
  const ids = new Int32Array(batch * length);
  const mask = new Int32Array(batch * length);
  const types = new Int32Array(batch * length);
  for (let r = 0; r < batch; r++) {
    const used = Math.max(1, length - r);
    for (let t = 0; t < length; t++) {
      const k = r * length + t;
      ids[k] = t < used ? Math.floor(next() * vocab) : 0;
      mask[k] = t < used ? 1 : 0;
      types[k] = t < used && t >= used / 2 && typeVocab > 1 ? 1 : 0;
    }
  }
  return { ids, mask, types };
}

/**
 * Runs an exported BERT graph in ONNX Runtime (int64 inputs) and the Kiln model (int32) on padded
 * sample batches of two sequence lengths (checks the dynamic batch and sequence axes); throws if they differ.
 */
export async function verifyBertOnnx(
  model: { apply(inputs: Record<string, tf.Tensor>, options: { training: boolean }): tf.Tensor; bertConfig: { vocab_size: number; type_vocab_size: number; max_position_embeddings: number } },
  bytes: Uint8Array,
  outputName: string,
  options: { tolerance: number; batchSizes: number[]; lengths?: number[]; where?: string },
): Promise<VerifyReport> {
  const bug = 'this is a converter bug; report it with the model config';
  const session = await createSession(bytes, 'BERT graph', options.where, bug);
  const c = model.bertConfig;
  const lengths = (options.lengths ?? [8, 5]).map((l) => Math.min(l, c.max_position_embeddings));
  let maxAbsDiff = 0;
  try {
    for (const batch of options.batchSizes) {
      for (const length of lengths) {
        const { ids, mask, types } = sampleTextInputs(batch, length, c.vocab_size, c.type_vocab_size, 11 + batch * 31 + length);
        const shape = [batch, length];
        const int64 = (a: Int32Array) => new ort.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), shape);
        const result = await session.run({ input_ids: int64(ids), attention_mask: int64(mask), token_type_ids: int64(types) });
        const got = result[outputName].data as Float32Array;
        const expected = tf.tidy(() => {
          const y = model.apply({ input_ids: tf.tensor2d(ids, [batch, length], 'int32'), attention_mask: tf.tensor2d(mask, [batch, length], 'int32'), token_type_ids: tf.tensor2d(types, [batch, length], 'int32') }, { training: false });
          return y.dataSync().slice() as Float32Array;
        });
        maxAbsDiff = maxDifference(got, expected, maxAbsDiff, `batch ${batch}, length ${length}`, options.where, bug);
      }
    }
  } finally {
    await session.release();
  }
  if (!(maxAbsDiff <= options.tolerance)) {
    throw new TrainingError(`ONNX export of the BERT model does not match it: max |diff| ${maxAbsDiff.toExponential(3)} > ${options.tolerance}`, {
      where: options.where,
      hint: 'the graph converts but computes something else; report it with the model config',
    });
  }
  return { maxAbsDiff, batchSizes: options.batchSizes, tolerance: options.tolerance };
}
