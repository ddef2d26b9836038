import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { readSafetensors, type Callback, type Hooks, type Logger } from '@kiln/core';
import { BertModel } from '../bert-model';
import { saveHuggingFace } from '../huggingface';

export const SaveHuggingFaceOptions = z.strictObject({
  dir: z.string().default('huggingface').describe('Output directory, relative to the run directory'),
  weights: z.enum(['best', 'last']).default('best').describe("best: the checkpoint callback's checkpoints/best.safetensors when there is one; last: the weights at the end of the run"),
});
export type SaveHuggingFaceOptions = z.output<typeof SaveHuggingFaceOptions>;

/**
 * At the end of a run, writes the BERT model as a Hugging Face directory (config.json,
 * model.safetensors, vocab.txt, tokenizer_config.json) that `transformers` loads with
 * `from_pretrained`.
 */
export class SaveHuggingFaceCallback implements Callback {
  readonly name = 'save-huggingface';
  constructor(
    private readonly options: SaveHuggingFaceOptions,
    private readonly logger?: Logger,
  ) {}

  apply(hooks: Hooks): void {
    hooks.afterRun.tapPromise('SaveHuggingFaceCallback', async ({ trainer }) => {
      const model = trainer.model;
      if (!(model instanceof BertModel)) {
        this.logger?.warn(`save-huggingface: the model is ${model.name}, not BERT; nothing written`);
        return;
      }
      const best = path.join(trainer.runDir, 'checkpoints', 'best.safetensors');
      const dir = path.resolve(trainer.runDir, this.options.dir);
      if (this.options.weights === 'best' && fs.existsSync(best)) {
        const current = tf.tidy(() => Object.fromEntries(Object.entries(model.getWeights()).map(([k, v]) => [k, tf.clone(v)])));
        const { tensors } = readSafetensors(best);
        const stored: tf.NamedTensorMap = {};
        for (const [name, t] of Object.entries(tensors)) if (name.startsWith('model/')) stored[name.slice(6)] = tf.tensor(t.data, t.shape, t.dtype);
        try {
          model.setWeights(stored);
          saveHuggingFace(model, dir);
        } finally {
          model.setWeights(current);
          tf.dispose([...Object.values(stored), ...Object.values(current)]);
        }
      } else saveHuggingFace(model, dir);
      this.logger?.info(`Hugging Face model written to ${dir}`);
    });
  }
}
