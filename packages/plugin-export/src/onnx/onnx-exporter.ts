import * as path from 'node:path';
import { KILN_VERSION, writeFileAtomic, type ExportResult, type Exporter, type Model, type ModelCard } from '@kiln/core';
import { z } from 'zod';
import { cardInModelOrder, MODEL_CARD_FILE, writeModelCard } from '../card';
import { layersModelOf } from '../tfjs/tfjs-exporter';
import { convertToOnnx, ONNX_OPSET } from './convert';
import { verifyBertOnnx, verifyOnnx, type VerifyReport } from './verify';
import { BERT_ONNX_INPUTS, convertBertToOnnx, isBertLike, type BertLikeModel } from './bert-graph';
import * as fs from 'node:fs';

export const ONNX_FILE = 'model.onnx';

export const OnnxExporterOptions = z.strictObject({
  opset: z.number().int().min(17).max(21).default(ONNX_OPSET).describe('ONNX opset version of the graph (LayerNormalization needs 17).'),
  tolerance: z.number().positive().default(1e-4).describe('Largest |ONNX Runtime − Kiln| output difference accepted when the export is verified.'),
  verifyBatchSizes: z.array(z.number().int().positive()).min(1).default([1, 3]).describe('Batch sizes of the random sample inputs the export is verified on (checks the dynamic batch axis).'),
});
export type OnnxExporterOptions = z.output<typeof OnnxExporterOptions>;

/** ONNX graph (opset 17, dynamic batch), verified in ONNX Runtime against the Kiln model before it is kept. */
export class OnnxExporter implements Exporter {
  readonly format = 'onnx';
  lastVerification?: VerifyReport;

  constructor(private readonly options: OnnxExporterOptions = OnnxExporterOptions.parse({})) {}

  async export(model: Model, outDir: string, given: ModelCard): Promise<ExportResult> {
    if (isBertLike(model)) return this.exportBert(model, outDir, given);
    const lm = layersModelOf(model, this.format);
    const card = cardInModelOrder(given, model);
    const conversion = convertToOnnx(lm, { inputNames: card.inputs.map((i) => i.name), opset: this.options.opset, producerVersion: KILN_VERSION });
    const file = path.join(outDir, ONNX_FILE);
    this.lastVerification = await verifyOnnx(lm, conversion.bytes, conversion.inputNames, conversion.outputName, {
      tolerance: this.options.tolerance,
      batchSizes: this.options.verifyBatchSizes,
      where: file,
    });
    writeFileAtomic(file, conversion.bytes);
    writeModelCard(outDir, { ...card, onnx: { opset: conversion.opset, inputs: conversion.inputNames, output: conversion.outputName, maxAbsDiff: this.lastVerification.maxAbsDiff, tolerance: this.options.tolerance } } as ModelCard, this.format, [ONNX_FILE]);
    return { format: this.format, dir: outDir, files: [ONNX_FILE, MODEL_CARD_FILE] };
  }

  /** Models exposing `bertConfig` (plugin-bert): the Hugging Face BERT graph, int64 inputs, dynamic batch and sequence. */
  private async exportBert(model: BertLikeModel & Model, outDir: string, given: ModelCard): Promise<ExportResult> {
    const card = cardInModelOrder(given, model);
    const conversion = convertBertToOnnx(model, { opset: this.options.opset, producerVersion: KILN_VERSION, name: model.name });
    const file = path.join(outDir, ONNX_FILE);
    this.lastVerification = await verifyBertOnnx(model, conversion.bytes, conversion.outputName, { tolerance: this.options.tolerance, batchSizes: this.options.verifyBatchSizes, where: file });
    writeFileAtomic(file, conversion.bytes);
    const preprocessing = card.preprocessing;
    const onnx = { opset: conversion.opset, inputs: conversion.inputNames, inputDtypes: conversion.inputNames.map(() => 'int64'), output: conversion.outputName, head: conversion.head, maxAbsDiff: this.lastVerification.maxAbsDiff, tolerance: this.options.tolerance };
    // The graph's inputs carry Hugging Face names whatever the reader called them (synthetic text: tokens, mask).
    const length = card.inputs[0]?.shape[1] ?? (preprocessing as { maxLength?: number } | undefined)?.maxLength ?? 128;
    const inputs = BERT_ONNX_INPUTS.map((name) => ({ name, shape: [null, length], dtype: 'int32' as const }));
    const full = { ...card, inputs, preprocessing, classNames: card.classNames ?? model.labels, onnx } as ModelCard;
    writeModelCard(outDir, full, this.format, [ONNX_FILE], model.vocabulary);
    const written = JSON.parse(fs.readFileSync(path.join(outDir, MODEL_CARD_FILE), 'utf8')) as { files: string[] };
    return { format: this.format, dir: outDir, files: [...written.files, MODEL_CARD_FILE] };
  }
}
