import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Kernel, Tokens, type CommandContext, type Metric } from '@kiln/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import plugin, { CocoMetric } from '../src';
import { apFromRanking, clearedFraction } from './helpers';

tf.env().set('IS_TEST', true); // no "install tfjs-node" banner

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent } as unknown as CommandContext['logger'];

describe('CocoMetric', () => {
  test('accumulates batches of xyxy boxes and reports coco/* stats', () => {
    const metric = new CocoMetric();
    // image 1: one GT, detection IoU 0.78; image 2: one GT, an exact detection
    metric.update([{ boxes: [[0, 0, 10, 7.8]], scores: [0.9], labels: [1] }], [{ boxes: [[0, 0, 10, 10]], labels: [1] }]);
    metric.update({ boxes: Float32Array.from([20, 20, 30, 30]), scores: [0.8], labels: [1] }, { boxes: [20, 20, 30, 30], labels: [1] });
    const r = metric.result();
    // two GTs: at thresholds the 0.78 match clears both are TPs (AP 1); above, the top-ranked one is an FP
    // and recall stops at 1/2
    const cleared = clearedFraction(0.78);
    expect(r['coco/AP']).toBeCloseTo(cleared * 1 + (1 - cleared) * apFromRanking([false, true], 2), 12);
    expect(r['coco/AP50']).toBeCloseTo(1, 12);
    expect(Object.keys(r)).toEqual(['coco/AP', 'coco/AP50', 'coco/AP75', 'coco/APs', 'coco/APm', 'coco/APl', 'coco/AR1', 'coco/AR10', 'coco/AR100', 'coco/ARs', 'coco/ARm', 'coco/ARl']);
    metric.reset();
    metric.update([{ boxes: [[0, 0, 10, 10]], scores: [0.9], labels: [1] }], [{ boxes: [[0, 0, 10, 10]], labels: [1] }]);
    expect(metric.result()['coco/AP']).toBeCloseTo(1, 12);
  });

  test('takes tensors and leaves none behind', () => {
    const before = tf.memory().numTensors;
    const metric = new CocoMetric({ boxFormat: 'xywh' });
    tf.tidy(() => {
      metric.update(
        { boxes: tf.tensor2d([[0, 0, 10, 10], [50, 50, 10, 10]]), scores: tf.tensor1d([0.9, 0.8]), labels: tf.tensor1d([1, 1], 'int32') },
        { boxes: tf.tensor2d([[0, 0, 10, 10]]), labels: tf.tensor1d([1], 'int32') },
      );
    });
    expect(tf.memory().numTensors).toBe(before);
    // the one GT found at rank 1; the second detection is a false positive after it
    expect(metric.result()['coco/AP']).toBeCloseTo(apFromRanking([true, false], 1), 12);
  });

  test('is provided to the kernel as metric "coco" with validated options', async () => {
    const kernel = new Kernel({ logger: silent });
    await kernel.use(plugin);
    const metric = (await kernel.build(Tokens.Metric, { type: 'coco', boxFormat: 'xywh' }, 'metrics.0')) as Metric;
    metric.update([{ boxes: [[0, 0, 10, 10]], scores: [0.9], labels: [3] }], [{ boxes: [[0, 0, 10, 10]], labels: [3] }]);
    expect((await metric.result())['coco/AP']).toBeCloseTo(1, 12);
    await expect(kernel.build(Tokens.Metric, { type: 'coco', boxFormat: 'cxcywh' }, 'metrics.0')).rejects.toThrow();
  });
});

describe('kiln coco-eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-coco-cmd-'));
  writeFileSync(
    join(dir, 'gt.json'),
    JSON.stringify({ images: [{ id: 1 }], categories: [{ id: 1, name: 'cat' }], annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }] }),
  );
  writeFileSync(join(dir, 'dt.json'), JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 7.8], score: 0.9 }]));

  async function run(options: Record<string, unknown>): Promise<string> {
    const kernel = new Kernel({ logger: silent });
    await kernel.use(plugin);
    const command = kernel.commands().get('coco-eval')!;
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const code = await command.run([], options, { logger: silent, cwd: dir, globals: {}, stdout });
    expect(code ?? 0).toBe(0);
    return text;
  }

  test('--json prints one object with iouType, 12 stats and per-category stats', async () => {
    const out = JSON.parse(await run({ gt: 'gt.json', dt: 'dt.json', json: true })) as { iouType: string; stats: number[]; perCategory: Record<string, { AP: number }> };
    expect(out.iouType).toBe('bbox');
    expect(out.stats).toHaveLength(12);
    expect(out.stats[0]).toBeCloseTo(clearedFraction(0.78), 12);
    expect(out.perCategory.cat!.AP).toBeCloseTo(clearedFraction(0.78), 12);
  });

  test('the table uses pycocotools summarize() lines', async () => {
    const lines = (await run({ gt: 'gt.json', dt: 'dt.json' })).split('\n');
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.600');
    expect(lines[4]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000');
    expect(lines[6]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.600');
    expect(lines.some((l) => l.startsWith('cat '))).toBe(true);
  });

  test('missing --dt is a usage error', async () => {
    await expect(run({ gt: 'gt.json' })).rejects.toThrow(/--gt and --dt/);
  });
});
