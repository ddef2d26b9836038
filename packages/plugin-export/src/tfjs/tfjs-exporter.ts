import { TrainingError, type ExportResult, type Exporter, type Model, type ModelCard } from '@kiln/core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { cardInModelOrder, MODEL_CARD_FILE, writeModelCard } from '../card';
import { FileSystemIOHandler, MODEL_JSON, WEIGHTS_FILE } from './file-io-handler';

export const TfjsExporterOptions = z.strictObject({});
export type TfjsExporterOptions = z.output<typeof TfjsExporterOptions>;

export function layersModelOf(model: Model, format: string): LayersModel {
  const lm = model.layersModel as LayersModel | undefined;
  if (!lm || typeof (lm as { save?: unknown }).save !== 'function') {
    const bert = typeof (model as { bertConfig?: unknown }).bertConfig === 'object';
    throw new TrainingError(`model ${model.name} has no tfjs-layers model, so it cannot be exported as ${format}`, {
      hint: bert
        ? 'BERT models export with --format onnx (or as a Hugging Face directory with the save-huggingface callback)'
        : 'wrap the model in LayersModelAdapter (plugin-train-basics) or write an exporter for it',
    });
  }
  return lm;
}

/** model.json + one weight shard in the tfjs layers format, loadable by tf.loadLayersModel. */
export class TfjsExporter implements Exporter {
  readonly format = 'tfjs';

  async export(model: Model, outDir: string, card: ModelCard): Promise<ExportResult> {
    await layersModelOf(model, this.format).save(new FileSystemIOHandler(outDir));
    const files = [MODEL_JSON, WEIGHTS_FILE];
    writeModelCard(outDir, cardInModelOrder(card, model), this.format, files);
    return { format: this.format, dir: outDir, files: [...files, MODEL_CARD_FILE] };
  }
}
