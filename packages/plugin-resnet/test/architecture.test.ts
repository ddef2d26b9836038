import * as tf from '@tensorflow/tfjs-core';
import { CpuBackend } from '@kiln/plugin-backend-wasm';
import { buildResNet, ResNetBackbone, type ResNetDepth } from '../src';

// Shapes and counts do not depend on the backend; cpu initialises 25M weights ~20× faster than wasm.
beforeAll(async () => {
  await new CpuBackend().activate();
});

const imagenet = (side: number, classes: number) => ({
  task: 'classification' as const,
  inputs: [{ name: 'image', shape: [side, side, 3], dtype: 'float32' as const }],
  targetShape: [],
  targetDtype: 'int32' as const,
  classNames: Array.from({ length: classes }, (_, i) => `class ${i}`),
});

/**
 * Parameters by hand from the paper's table 1, counted as torchvision does (conv weights,
 * BN gamma and beta, fc weight and bias; no BN running statistics).
 */
function expectedParameters(depth: ResNetDepth, classes: number, widths = [64, 128, 256, 512], stemKernel = 7, inChannels = 3) {
  const bottleneck = depth >= 50;
  const blocks = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3] }[depth];
  const conv = (k: number, cin: number, cout: number) => k * k * cin * cout;
  const bn = (c: number) => 2 * c;
  let params = conv(stemKernel, inChannels, widths[0]) + bn(widths[0]);
  let bnChannels = widths[0];
  let cin = widths[0];
  blocks.forEach((n, stage) => {
    const w = widths[stage];
    const cout = bottleneck ? 4 * w : w;
    for (let i = 0; i < n; i++) {
      const stride = stage > 0 && i === 0 ? 2 : 1;
      if (bottleneck) {
        params += conv(1, cin, w) + bn(w) + conv(3, w, w) + bn(w) + conv(1, w, cout) + bn(cout);
        bnChannels += w + w + cout;
      } else {
        params += conv(3, cin, w) + bn(w) + conv(3, w, w) + bn(w);
        bnChannels += w + w;
      }
      if (stride !== 1 || cin !== cout) {
        params += conv(1, cin, cout) + bn(cout);
        bnChannels += cout;
      }
      cin = cout;
    }
  });
  params += cin * classes + classes;
  return { params, runningStatistics: 2 * bnChannels };
}

describe('parameter counts', () => {
  it('the hand count reproduces the published torchvision figures', () => {
    // torchvision.models.resnet{18,34,50,101,152}(): sum(p.numel() for p in m.parameters())
    expect(expectedParameters(18, 1000).params).toBe(11_689_512);
    expect(expectedParameters(34, 1000).params).toBe(21_797_672);
    expect(expectedParameters(50, 1000).params).toBe(25_557_032);
    expect(expectedParameters(101, 1000).params).toBe(44_549_160);
    expect(expectedParameters(152, 1000).params).toBe(60_192_808);
  });

  it.each([18, 50] as const)('ResNet-%i with a 1000-class head on 224×224×3 has the torchvision count and C2..C5 of 56, 28, 14, 7', (depth) => {
    const model = buildResNet({ depth }, { dataset: imagenet(224, 1000) });
    const { params, runningStatistics } = expectedParameters(depth, 1000);
    expect(model.countParams()).toBe(depth === 18 ? 11_689_512 : 25_557_032);
    expect(model.countParams()).toBe(params);
    expect(model.countParams({ includeRunningStatistics: true })).toBe(params + runningStatistics);
    expect(model.trainableVariables.reduce((n, v) => n + v.size, 0)).toBe(params);
    const e = depth === 18 ? 1 : 4;
    expect(model.stagesModel().outputs.map((o) => o.shape)).toEqual([
      [null, 56, 56, 64 * e],
      [null, 28, 28, 128 * e],
      [null, 14, 14, 256 * e],
      [null, 7, 7, 512 * e],
    ]);
    model.dispose();
  });

  it('scales widths with the multiplier and uses a 3×3 stem for CIFAR', () => {
    const model = buildResNet({ depth: 18, stem: 'cifar', widthMultiplier: 0.25 }, { dataset: imagenet(32, 10) });
    expect(model.countParams()).toBe(expectedParameters(18, 10, [16, 32, 64, 128], 3).params);
    model.dispose();
  });
});

describe('stage outputs', () => {
  it('ImageNet stem: C2..C5 at strides 4, 8, 16, 32 with 64·e..512·e channels, computed on a real batch', () => {
    for (const [depth, e] of [[18, 1], [50, 4]] as const) {
      const backbone = new ResNetBackbone({ depth, stem: 'imagenet', widthMultiplier: 0.25, zeroInitResidual: false }, { inputShape: [64, 96, 3] });
      const outs = tf.tidy(() => (backbone.stagesModel().predict(tf.ones([2, 64, 96, 3])) as tf.Tensor[]).map((t) => t.shape));
      expect(outs).toEqual([
        [2, 16, 24, 16 * e],
        [2, 8, 12, 32 * e],
        [2, 4, 6, 64 * e],
        [2, 2, 3, 128 * e],
      ]);
      expect(backbone.stageChannels).toEqual([16 * e, 32 * e, 64 * e, 128 * e]);
    }
  });

  it('CIFAR stem: C2..C5 at strides 1, 2, 4, 8', () => {
    const backbone = new ResNetBackbone({ depth: 18, stem: 'cifar', widthMultiplier: 0.125, zeroInitResidual: false }, { inputShape: [32, 32, 3] });
    const outs = tf.tidy(() => (backbone.stagesModel().predict(tf.ones([1, 32, 32, 3])) as tf.Tensor[]).map((t) => t.shape));
    expect(outs).toEqual([
      [1, 32, 32, 8],
      [1, 16, 16, 16],
      [1, 8, 8, 32],
      [1, 4, 4, 64],
    ]);
  });

  it('odd sizes downsample as PyTorch: ⌊(n − 1)/2⌋ + 1 at each stride-2 conv and pool', () => {
    const backbone = new ResNetBackbone({ depth: 18, stem: 'imagenet', widthMultiplier: 0.125, zeroInitResidual: false }, { inputShape: [65, 33, 3] });
    // 65 → 33 (conv1) → 17 (maxpool) → 17, 9, 5, 3; 33 → 17 → 9 → 9, 5, 3, 2.
    expect(backbone.stagesModel().outputs.map((o) => o.shape.slice(1, 3))).toEqual([[17, 9], [9, 5], [5, 3], [3, 2]]);
  });

  it('stage models share the classifier\'s weights', () => {
    const model = buildResNet({ depth: 18, stem: 'cifar', widthMultiplier: 0.125 }, { dataset: imagenet(16, 3) });
    const stages = model.stagesModel();
    const conv1 = model.layersModel.getLayer('conv1').getWeights()[0];
    expect(stages.getLayer('conv1').getWeights()[0]).toBe(conv1);
    expect(stages.weights.length).toBe(model.layersModel.weights.length - 2);
    model.dispose();
  });
});

describe('padding and names', () => {
  it('a stride-2 conv pads (k − 1)/2 on every side, as PyTorch (tfjs "same" would pad 2 top/left, 3 bottom/right)', () => {
    const backbone = new ResNetBackbone({ depth: 18, stem: 'imagenet', widthMultiplier: 1 / 64, zeroInitResidual: false }, { inputShape: [8, 8, 1] });
    const conv = backbone.stagesModel().getLayer('conv1');
    conv.setWeights([tf.ones([7, 7, 1, 1])]);
    const pad = backbone.stagesModel().getLayer('conv1.pad');
    const x = tf.tensor4d(Array.from({ length: 64 }, (_, i) => i), [1, 8, 8, 1]);
    const y = conv.apply(pad.apply(x)) as tf.Tensor;
    expect(y.shape).toEqual([1, 4, 4, 1]);
    const v = y.dataSync();
    // x[r][c] = 8r + c. Output (0, 0) covers rows and cols −3..3, i.e. x[0..3][0..3]: Σ(8r + c) = 192 + 24.
    expect(v[0]).toBe(216);
    // Output (3, 3) covers 3..9, i.e. x[3..7][3..7]: 5·8·(3+4+5+6+7) + 5·(3+4+5+6+7).
    expect(v[15]).toBe(1125);
    tf.dispose([x, y]);
  });

  it('weights have the same torchvision-style names in every instance', () => {
    const a = buildResNet({ depth: 18, stem: 'cifar', widthMultiplier: 0.125 }, { dataset: imagenet(16, 3) });
    const b = buildResNet({ depth: 18, stem: 'cifar', widthMultiplier: 0.125 }, { dataset: imagenet(16, 3) });
    const names = Object.keys(a.getWeights()).sort();
    expect(Object.keys(b.getWeights()).sort()).toEqual(names);
    expect(names).toEqual(expect.arrayContaining([
      'conv1/kernel', 'bn1/gamma', 'bn1/moving_mean', 'layer1.0.conv1/kernel', 'layer2.0.downsample.0/kernel',
      'layer2.0.downsample.1/moving_variance', 'layer4.1.bn2/beta', 'fc/kernel', 'fc/bias',
    ]));
    expect(names.some((n) => n.startsWith('layer1.0.downsample'))).toBe(false);
    b.setWeights(a.getWeights());
    a.dispose();
    b.dispose();
  });
});
