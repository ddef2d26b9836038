import { resolve } from 'node:path';
import { UsageError, type Command } from '@kiln/core';
import { evaluateCoco } from './evaluate';
import type { CocoDataset, CocoResult, IouType } from './format';
import { readJsonFile } from './json-file';
import { perCategoryTable, summaryLines } from './summary';

const IOU_TYPES: readonly IouType[] = ['bbox', 'segm', 'keypoints'];

function option(options: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (options[n] !== undefined) return options[n];
  return undefined;
}

/** `kiln coco-eval --gt instances.json --dt results.json [--iou-type bbox|segm|keypoints] [--json]` */
export const cocoEvalCommand: Command = {
  name: 'coco-eval',
  description: 'Evaluate COCO results against ground truth (pycocotools COCOeval numbers).',
  options: [
    { flags: '--gt <file>', description: 'ground truth in COCO instances JSON' },
    { flags: '--dt <file>', description: 'results: a JSON list of { image_id, category_id, bbox | segmentation | keypoints, score }' },
    { flags: '--iou-type <type>', description: 'bbox, segm or keypoints', default: 'bbox' },
    { flags: '--json', description: 'print one JSON object { iouType, stats, perCategory } instead of the tables', default: false },
  ],
  async run(_args, options, context) {
    const gtPath = option(options, 'gt');
    const dtPath = option(options, 'dt');
    if (typeof gtPath !== 'string' || typeof dtPath !== 'string') {
      throw new UsageError('coco-eval needs --gt and --dt', { where: 'kiln coco-eval', hint: 'kiln coco-eval --gt instances.json --dt results.json' });
    }
    const iouType = (option(options, 'iouType', 'iou-type') ?? 'bbox') as IouType;
    if (!IOU_TYPES.includes(iouType)) {
      throw new UsageError(`unknown --iou-type "${String(iouType)}"`, { where: 'kiln coco-eval --iou-type', hint: 'use bbox, segm or keypoints' });
    }
    const gtFile = resolve(context.cwd, gtPath);
    const dtFile = resolve(context.cwd, dtPath);
    const [gt, dt] = await Promise.all([readJsonFile(gtFile), readJsonFile(dtFile)]);
    const result = evaluateCoco(gt as CocoDataset, dt as CocoResult[], { iouType }, { gt: gtPath, dt: dtPath });
    if (option(options, 'json')) {
      context.stdout.write(`${JSON.stringify({ iouType, stats: result.stats, perCategory: result.perCategory })}\n`);
    } else {
      const lines = [...summaryLines(result), '', ...perCategoryTable(result)];
      context.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  },
};
