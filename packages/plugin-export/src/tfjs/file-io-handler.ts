import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DataError, writeFileAtomic } from '@kiln/core';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'group1-shard1of1.bin';

interface ModelJson {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, {}>;
}

function concatWeightData(data: tf.io.WeightData): Uint8Array {
  const buffers = Array.isArray(data) ? data : [data];
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

/**
 * The tfjs layers format on the local file system (`file://` without tfjs-node): model.json
 * with `modelTopology` and `weightsManifest`, plus one weight shard. Writes are atomic.
 */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, string: 0, complex64: 8 };

export class FileSystemIOHandler implements tf.io.IOHandler {
  constructor(private readonly dir: string) {}

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    if (artifacts.modelTopology instanceof ArrayBuffer) throw new DataError('binary model topologies are not supported', { hint: 'export a tfjs layers model' });
    fs.mkdirSync(this.dir, { recursive: true });
    const weights = artifacts.weightData ? concatWeightData(artifacts.weightData) : new Uint8Array(0);
    const json: ModelJson = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    };
    writeFileAtomic(path.join(this.dir, WEIGHTS_FILE), Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
    writeFileAtomic(path.join(this.dir, MODEL_JSON), `${JSON.stringify(json)}\n`);
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
        weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
        weightDataBytes: weights.byteLength,
      },
    };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const file = path.join(this.dir, MODEL_JSON);
    if (!fs.existsSync(file)) throw new DataError(`no ${MODEL_JSON} in ${this.dir}`, { where: this.dir, hint: 'pass a directory written by `kiln export --format tfjs`' });
    let json: ModelJson;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJson;
    } catch (cause) {
      throw new DataError(`${MODEL_JSON} is not valid JSON: ${(cause as Error).message}`, { where: file, cause });
    }
    if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
      throw new DataError(`${MODEL_JSON} lacks modelTopology or weightsManifest`, { where: file, hint: 'the file is not a tfjs layers model' });
    }
    const specs: tf.io.WeightsManifestEntry[] = [];
    const shards: Uint8Array[] = [];
    for (const group of json.weightsManifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        const shard = path.resolve(this.dir, p);
        if (!fs.existsSync(shard)) throw new DataError(`weight shard ${p} is missing`, { where: file, hint: 'copy every file of the export directory' });
        shards.push(fs.readFileSync(shard));
      }
    }
    const data = concatWeightData(shards.map((s) => s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer));
    // Checked here: tfjs would build (and leak) the model's initial weights before noticing.
    const expected = specs.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[w.dtype] ?? 4), 0);
    if (!specs.some((w) => w.quantization) && data.byteLength !== expected) {
      throw new DataError(`weight shards hold ${data.byteLength} bytes but the manifest describes ${expected}`, { where: file, hint: 'the export is truncated or corrupt; export the model again' });
    }
    return {
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy ?? undefined,
      weightSpecs: specs,
      weightData: data.buffer as ArrayBuffer,
      userDefinedMetadata: json.userDefinedMetadata,
    };
  }
}
