import { definePlugin, Tokens } from '@kiln/core';
import { cocoEvalCommand } from './command';
import { CocoMetric, cocoMetricOptions } from './metric';

export { evaluateCoco, summarize, type CocoEvalResult, type CategoryResult, type EvalImg } from './evaluate';
export { CocoMetric, cocoMetricOptions, type CocoMetricOptions, type DetectionPrediction, type DetectionTarget } from './metric';
export { cocoEvalCommand } from './command';
export { readJsonFile } from './json-file';
export { summaryLines, perCategoryTable, formatFixed3 } from './summary';
export * from './format';
export * from './params';
export * from './mask/rle';
export type { InputSources } from './prepare';

export default definePlugin({
  name: '@kiln/plugin-coco',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'COCO detection evaluation (bbox, segm, keypoints) with pycocotools-identical numbers.',
  register(ctx) {
    ctx.provide(Tokens.Metric, 'coco', (options) => new CocoMetric(options), cocoMetricOptions, {
      description: 'COCO mAP/mAR (pycocotools COCOeval, bbox) of a detection model on the validation set.',
    });
    ctx.command(cocoEvalCommand);
  },
});
