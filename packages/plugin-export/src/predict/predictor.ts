import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { DataError, type InputSpec, type Logger, type Model } from '@kiln/core';
import { buildModelCard, cardInModelOrder, readModelCard, type StoredModelCard } from '../card';
import { ONNX_FILE } from '../onnx/onnx-exporter';
import { loadRun } from '../run-loader';
import { FileSystemIOHandler, MODEL_JSON } from '../tfjs/file-io-handler';
import { TextPreprocessor } from './text';

export type InputArray = Float32Array | Int32Array;

/** Runs a model on stacked rows; the same interface for a run checkpoint, a tfjs export and an ONNX export. */
export interface Predictor {
  readonly name: string;
  readonly version: string;
  readonly runtime: 'kiln' | 'tfjs' | 'onnxruntime';
  readonly card: StoredModelCard | (ReturnType<typeof buildModelCard> & { format?: string });
  /** Per-example input specs, in model input order. */
  readonly inputs: InputSpec[];
  /** Text models: the tokenizer training used (texts → inputs, tokens → character offsets). */
  readonly text?: TextPreprocessor;
  /** `inputs[i]` holds `batch` stacked examples of input i; returns [batch, outputs] row-major. */
  run(inputs: InputArray[], batch: number): Promise<{ data: Float32Array; width: number }>;
  dispose(): Promise<void> | void;
}

function specsOf(card: { inputs: { name: string; shape: (number | null)[]; dtype: string }[] }): InputSpec[] {
  return card.inputs.map((i) => ({ name: i.name, shape: i.shape.slice(1).map((d) => d ?? 1), dtype: i.dtype === 'int32' ? 'int32' : 'float32' }));
}

function tensorsOf(specs: InputSpec[], inputs: InputArray[], batch: number): tf.Tensor[] {
  return specs.map((s, i) => tf.tensor(inputs[i], [batch, ...s.shape], s.dtype));
}

function readOut(y: tf.Tensor, batch: number): { data: Float32Array; width: number } {
  const data = y.dataSync() as Float32Array;
  return { data: Float32Array.from(data), width: batch === 0 ? 0 : data.length / batch };
}

/**
 * Text models run on [batch, sequence] inputs with a dynamic sequence axis: the padding columns every
 * row of a batch shares are dropped before the forward pass (attention masks them out, so the
 * outputs are the same), and token-level outputs are padded back with zeros to the full length.
 */
class PaddingTrimmer {
  private readonly mask: number;
  constructor(
    private readonly specs: InputSpec[],
    private readonly tokenLevel: boolean,
  ) {
    const m = specs.findIndex((s) => s.name === 'attention_mask' || s.name === 'mask');
    const length = specs[m]?.shape[0];
    this.mask = m >= 0 && specs.every((s) => s.shape.length === 1 && s.shape[0] === length) ? m : -1;
  }

  async run(inputs: InputArray[], batch: number, forward: (inputs: InputArray[], specs: InputSpec[], batch: number) => Promise<Float32Array>): Promise<{ data: Float32Array; width: number }> {
    if (this.mask < 0 || batch === 0) {
      const data = await forward(inputs, this.specs, batch);
      return { data, width: batch === 0 ? 0 : data.length / batch };
    }
    const full = this.specs[this.mask].shape[0];
    const mask = inputs[this.mask];
    let used = 1;
    for (let r = 0; r < batch; r++) {
      for (let t = full - 1; t >= used; t--) {
        if (mask[r * full + t] !== 0) {
          used = t + 1;
          break;
        }
      }
    }
    if (used === full) {
      const data = await forward(inputs, this.specs, batch);
      return { data, width: data.length / batch };
    }
    const cut = (a: InputArray): InputArray => {
      const out = a instanceof Int32Array ? new Int32Array(batch * used) : new Float32Array(batch * used);
      for (let r = 0; r < batch; r++) out.set(a.subarray(r * full, r * full + used), r * used);
      return out;
    };
    const data = await forward(inputs.map(cut), this.specs.map((s) => ({ ...s, shape: [used] })), batch);
    const width = data.length / batch;
    if (!this.tokenLevel) return { data, width };
    const perToken = width / used;
    const padded = new Float32Array(batch * full * perToken);
    for (let r = 0; r < batch; r++) padded.set(data.subarray(r * width, (r + 1) * width), r * full * perToken);
    return { data: padded, width: full * perToken };
  }
}

class ModelPredictor implements Predictor {
  readonly inputs: InputSpec[];
  constructor(
    readonly name: string,
    readonly version: string,
    readonly runtime: 'kiln' | 'tfjs',
    readonly card: Predictor['card'],
    private readonly forward: (xs: tf.Tensor[]) => tf.Tensor,
    private readonly release: () => void,
    readonly text?: TextPreprocessor,
  ) {
    this.inputs = specsOf(card);
    this.trimmer = text ? new PaddingTrimmer(this.inputs, card.task === 'token-classification') : undefined;
  }

  private readonly trimmer?: PaddingTrimmer;

  async run(inputs: InputArray[], batch: number): Promise<{ data: Float32Array; width: number }> {
    if (this.trimmer) return this.trimmer.run(inputs, batch, async (xs, specs, n) => tf.tidy(() => readOut(this.forward(tensorsOf(specs, xs, n)), n).data));
    return tf.tidy(() => readOut(this.forward(tensorsOf(this.inputs, inputs, batch)), batch));
  }

  dispose(): void {
    this.release();
  }
}

class OnnxPredictor implements Predictor {
  readonly runtime = 'onnxruntime' as const;
  readonly inputs: InputSpec[];
  private readonly inputNames: readonly string[];
  private readonly outputName: string;
  /** Graph inputs declared int64 (BERT, as Hugging Face exports): Kiln's int32 rows are widened. */
  private readonly int64: boolean[];
  constructor(
    readonly name: string,
    readonly version: string,
    readonly card: StoredModelCard,
    private readonly session: ort.InferenceSession,
    readonly text?: TextPreprocessor,
  ) {
    this.inputs = specsOf(card);
    this.inputNames = session.inputNames;
    this.outputName = session.outputNames[0];
    const onnx = (card as { onnx?: { inputDtypes?: string[]; head?: string } }).onnx;
    const dtypes = onnx?.inputDtypes ?? [];
    this.int64 = this.inputs.map((_, i) => dtypes[i] === 'int64');
    // BERT exports name their head: only the sequence classifier has one output row per example.
    const tokenLevel = onnx?.head ? onnx.head !== 'sequence-classification' : card.task === 'token-classification';
    this.trimmer = text ? new PaddingTrimmer(this.inputs, tokenLevel) : undefined;
  }

  private readonly trimmer?: PaddingTrimmer;

  async run(inputs: InputArray[], batch: number): Promise<{ data: Float32Array; width: number }> {
    if (this.trimmer) return this.trimmer.run(inputs, batch, (xs, specs, n) => this.forward(xs, specs, n));
    const data = await this.forward(inputs, this.inputs, batch);
    return { data, width: batch === 0 ? 0 : data.length / batch };
  }

  private async forward(inputs: InputArray[], specs: InputSpec[], batch: number): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {};
    specs.forEach((s, i) => {
      const shape = [batch, ...s.shape];
      feeds[this.inputNames[i]] = this.int64[i] ? new ort.Tensor('int64', BigInt64Array.from(inputs[i], (v) => BigInt(v)), shape) : new ort.Tensor(s.dtype, inputs[i], shape);
    });
    const out = await this.session.run(feeds);
    return out[this.outputName].data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function versionOf(card: { kilnVersion?: string; version?: string }): string {
  return (card as { version?: string }).version ?? '1';
}

/** A predictor over an export directory (kiln-model.json + model.json or model.onnx): needs nothing else. */
export async function loadExportedPredictor(dir: string, options: { name?: string; version?: string } = {}): Promise<Predictor> {
  const card = readModelCard(dir);
  const name = options.name ?? path.basename(path.resolve(dir));
  const version = options.version ?? versionOf(card);
  if (card.format === 'onnx' || (fs.existsSync(path.join(dir, ONNX_FILE)) && !fs.existsSync(path.join(dir, MODEL_JSON)))) {
    const text = TextPreprocessor.from(card.preprocessing, dir);
    const session = await ort.InferenceSession.create(path.join(dir, ONNX_FILE));
    return new OnnxPredictor(name, version, card, session, text);
  }
  if (!fs.existsSync(path.join(dir, MODEL_JSON))) throw new DataError(`no ${MODEL_JSON} or ${ONNX_FILE} in ${dir}`, { where: dir, hint: 'pass a directory written by kiln export' });
  const text = TextPreprocessor.from(card.preprocessing, dir);
  const model = await tfl.loadLayersModel(new FileSystemIOHandler(dir));
  return new ModelPredictor(name, version, 'tfjs', card, (xs) => model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor, () => model.dispose(), text);
}

/** A predictor over a training run (its config.json rebuilds the model, the checkpoint gives the weights). */
export async function loadRunPredictor(spec: string, options: { cwd: string; logger?: Logger; name?: string; version?: string }): Promise<Predictor> {
  const run = await loadRun(spec, options);
  const { kernel, config } = run.setup;
  const model: Model = run.setup.trainer.model;
  const card = cardInModelOrder(buildModelCard({ name: config.name ?? model.name, info: kernel.dataset!, metrics: run.metrics }), model);
  const keys = card.inputs.map((i) => i.name);
  let text: TextPreprocessor | undefined;
  try {
    text = TextPreprocessor.from(card.preprocessing);
  } catch (error) {
    run.dispose();
    throw error;
  }
  return new ModelPredictor(options.name ?? card.name, options.version ?? '1', 'kiln', card, (xs) => model.apply(Object.fromEntries(keys.map((k, i) => [k, xs[i]])), { training: false }), () => run.dispose(), text);
}

/** An export directory (with kiln-model.json) or a run / checkpoint. */
export async function loadPredictor(spec: string, options: { cwd: string; logger?: Logger; name?: string; version?: string }): Promise<Predictor> {
  const target = path.resolve(options.cwd, spec);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory() && fs.existsSync(path.join(target, 'kiln-model.json'))) return loadExportedPredictor(target, options);
  return loadRunPredictor(spec, options);
}
