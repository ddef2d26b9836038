import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { kilnBin, lastJson, packedInstall, run, workDir, type PackedInstall } from './pack-helpers';

jest.setTimeout(300_000);

interface TrainJson {
  runDir: string;
  logs: Record<string, number>;
  checkpoints: { best?: string; last?: string };
  epochs: number;
}

/** Tiny settings per template, so one epoch takes seconds. */
const TINY: Record<string, string[]> = {
  'image-classification': ['trainer.epochs=1', 'data.trainSize=64', 'data.valSize=32', 'model.widthMultiplier=0.125', 'trainer.batchSize=32'],
  'text-classification': ['trainer.epochs=1', 'data.trainSize=64', 'data.valSize=32', 'data.maxLength=16'],
  ner: ['trainer.epochs=1', 'data.trainSize=64', 'data.valSize=32', 'data.maxLength=16'],
};
const METRIC: Record<string, string> = {
  'image-classification': 'val/accuracy',
  'text-classification': 'val/accuracy',
  ner: 'val/seqeval/f1',
};

let install: PackedInstall;
let work: string;
beforeAll(async () => {
  install = await packedInstall();
  work = workDir(install.root, 'e2e');
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function kiln(cwd: string, ...args: string[]) {
  return run(process.execPath, [kilnBin(install.root), ...args], cwd);
}

async function scaffold(template: string): Promise<string> {
  const init = await kiln(work, 'init', template, '--template', template);
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  expect(init.stdout).toContain(`Next:\n  cd ${template} && npm install\n`);
  return path.join(work, template);
}

function sets(values: string[]): string[] {
  return values.flatMap((v) => ['--set', v]);
}

describe('kiln init → train → evaluate → export, from the installed tarballs', () => {
  it('image-classification: trains an epoch, evaluates, exports tfjs, predicts an image from the export', async () => {
    const dir = await scaffold('image-classification');
    const overrides = sets([...TINY['image-classification'], 'output.name=e2e']);
    const train = await kiln(dir, 'train', '--json', ...overrides);
    expect(train.code).toBe(0);
    expect(train.stderr).toMatch(/^epoch 1\/1 .* val\/accuracy \d\.\d+ /);
    const result = lastJson<TrainJson>(train.stdout);
    expect(result.epochs).toBe(1);
    expect(result.logs['val/accuracy']).toBeGreaterThanOrEqual(0);
    expect(fs.existsSync(result.checkpoints.best!)).toBe(true);

    const evaluate = await kiln(dir, 'evaluate', '--checkpoint', 'runs/e2e', '--json', ...overrides);
    expect(evaluate.code).toBe(0);
    const metrics = lastJson<{ logs: Record<string, number>; size: number }>(evaluate.stdout);
    expect(metrics.size).toBe(32);
    expect(metrics.logs['val/accuracy']).toBeCloseTo(result.logs['val/accuracy'], 5);

    const exported = await kiln(dir, 'export', '--checkpoint', 'runs/e2e', '--format', 'tfjs', '--out', 'export');
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^exported tfjs to .*export: model\.json, .*kiln-model\.json\n$/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'export', 'model.json'), 'utf8')).modelTopology).toBeDefined();

    // A 32×32 PNG: a bright square on black, as the shapes data draws them.
    const png = new PNG({ width: 32, height: 32 });
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      const inside = x >= 8 && x < 24 && y >= 8 && y < 24;
      png.data.set([inside ? 240 : 0, inside ? 240 : 0, inside ? 240 : 0, 255], (y * 32 + x) * 4);
    }
    fs.writeFileSync(path.join(dir, 'square.png'), PNG.sync.write(png));
    const predict = await kiln(dir, 'predict', 'square.png', '--checkpoint', 'export');
    expect(predict.code).toBe(0);
    const prediction = JSON.parse(predict.stdout.trim().split('\n').pop()!);
    expect(prediction.source).toMatch(/square\.png$/);
    expect(Object.keys(prediction.scores ?? {}).length).toBeGreaterThan(1);
  });

  it.each(['text-classification', 'ner'])('%s: trains an epoch, evaluates, exports ONNX and the Hugging Face directory, predicts text', async (template) => {
    const dir = await scaffold(template);
    const overrides = sets([...TINY[template], 'output.name=e2e']);
    const train = await kiln(dir, 'train', '--json', ...overrides);
    expect(train.code).toBe(0);
    const result = lastJson<TrainJson>(train.stdout);
    expect(result.epochs).toBe(1);
    expect(typeof result.logs[METRIC[template]]).toBe('number');

    const evaluate = await kiln(dir, 'evaluate', '--checkpoint', 'runs/e2e', '--json', ...overrides);
    expect(evaluate.code).toBe(0);
    expect(lastJson<{ logs: Record<string, number> }>(evaluate.stdout).logs[METRIC[template]]).toBeCloseTo(result.logs[METRIC[template]], 5);

    // BERT's export is the save-huggingface callback's directory (plugin-export's exporters need a tfjs-layers model).
    const hf = path.join(result.runDir, 'huggingface');
    expect(fs.readdirSync(hf).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']));
    expect(JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8')).model_type).toBe('bert');

    const exported = await kiln(dir, 'export', '--checkpoint', 'runs/e2e', '--format', 'onnx', '--out', 'export');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^exported onnx to .*export: model\.onnx, vocab\.txt, kiln-model\.json\n$/);
    fs.writeFileSync(path.join(dir, 'texts.jsonl'), '{"text": "Alice flew to Paris on Monday"}\n');
    const predict = await kiln(dir, 'predict', 'texts.jsonl', '--checkpoint', 'export');
    expect(predict.code).toBe(0);
    const line = JSON.parse(predict.stdout.trim().split('\n').pop()!);
    expect(line.source).toMatch(/texts\.jsonl:1$/);
    if (template === 'ner') expect(Array.isArray(line.entities)).toBe(true);
    else expect(typeof line.label).toBe('string');
  });

  it('tuning: runs a small Hyperband study, evaluates and exports the best trial', async () => {
    const dir = await scaffold('tuning');
    const dry = await kiln(dir, 'tune', '--dry-run');
    expect(dry.code).toBe(0);
    expect(lastJson<{ brackets: unknown[] }>(dry.stdout).brackets).toHaveLength(3);

    const tune = await kiln(dir, 'tune', ...sets(['tune.tuner.maxEpochs=3', 'data.trainSize=64', 'data.valSize=32']));
    expect(tune.code).toBe(0);
    const best = tune.stdout.match(/^model +(runs\/tuning\/trial-\d+)\/checkpoints\/best\.safetensors$/m);
    expect(best).not.toBeNull();
    const bestConfig = path.join(dir, 'runs', 'tuning', 'best.config.json');
    expect(fs.existsSync(bestConfig)).toBe(true);

    const evaluate = await kiln(dir, 'evaluate', '--config', bestConfig, '--checkpoint', best![1], '--json');
    expect(evaluate.code).toBe(0);
    expect(lastJson<{ logs: Record<string, number> }>(evaluate.stdout).logs['val/accuracy']).toBeGreaterThan(0);

    const exported = await kiln(dir, 'export', '--checkpoint', best![1], '--format', 'tfjs', '--out', 'export');
    expect(exported.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'export', 'kiln-model.json'))).toBe(true);
  });
});
