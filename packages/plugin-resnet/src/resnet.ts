import * as tfl from '@tensorflow/tfjs-layers';
import { basicBlock, bottleneckBlock, EXPANSION, LayerFactory, type BlockKind } from './blocks';
import type { ResNetDepth, ResNetOptions } from './options';

type Sym = tfl.SymbolicTensor;

/** Block kind and blocks per stage of each depth (He et al. 2016, table 1). */
export const RESNET_LAYOUT: Record<ResNetDepth, { block: BlockKind; blocks: [number, number, number, number] }> = {
  18: { block: 'basic', blocks: [2, 2, 2, 2] },
  34: { block: 'basic', blocks: [3, 4, 6, 3] },
  50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
  101: { block: 'bottleneck', blocks: [3, 4, 23, 3] },
  152: { block: 'bottleneck', blocks: [3, 8, 36, 3] },
};

export const BASE_WIDTHS = [64, 128, 256, 512] as const;

/** Base widths times the multiplier, rounded, at least 1. */
export function stageWidths(widthMultiplier: number): [number, number, number, number] {
  return BASE_WIDTHS.map((w) => Math.max(1, Math.round(w * widthMultiplier))) as [number, number, number, number];
}

export type BackboneOptions = Pick<ResNetOptions, 'depth' | 'stem' | 'widthMultiplier' | 'zeroInitResidual'>;

export interface BackboneBuildOptions {
  /** Per-example input shape [height, width, channels]; height and width may be null for any size. */
  inputShape: [number | null, number | null, number];
  /** Seeds the initialisers, so the same seed gives the same weights. */
  seed?: number;
  /** Name of the input layer (the batch key it is fed from). */
  inputName?: string;
}

/**
 * A ResNet backbone as a tfjs-layers graph. Layers carry torchvision's names (`conv1`,
 * `layer2.0.downsample.0`, `fc`), so weight names are the same in every instance and map
 * one-to-one onto a torchvision state dict.
 */
export class ResNetBackbone {
  readonly input: Sym;
  /** C2..C5: outputs of layer1..layer4 (strides 4/8/16/32 with the ImageNet stem, 1/2/4/8 with the CIFAR stem). */
  readonly stages: [Sym, Sym, Sym, Sym];
  /** Channels of C2..C5. */
  readonly stageChannels: [number, number, number, number];
  readonly options: BackboneOptions;
  private stagesModelCache?: tfl.LayersModel;

  constructor(options: BackboneOptions, build: BackboneBuildOptions) {
    this.options = options;
    const f = new LayerFactory(build.seed ?? 0);
    const { block, blocks } = RESNET_LAYOUT[options.depth];
    const widths = stageWidths(options.widthMultiplier);
    const stemWidth = widths[0];
    this.input = tfl.input({ shape: build.inputShape, name: build.inputName ?? 'image', dtype: 'float32' });
    let x: Sym;
    if (options.stem === 'imagenet') {
      x = f.relu(f.batchNorm(f.conv(this.input, stemWidth, 7, 2, 'conv1'), 'bn1'), 'relu');
      // Padding with 0 equals PyTorch's −∞ padding here: the input is post-ReLU, so ≥ 0.
      x = tfl.layers.zeroPadding2d({ padding: 1, name: 'maxpool.pad' }).apply(x) as Sym;
      x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'maxpool' }).apply(x) as Sym;
    } else {
      x = f.relu(f.batchNorm(f.conv(this.input, stemWidth, 3, 1, 'conv1'), 'bn1'), 'relu');
    }
    let channels = stemWidth;
    const make = block === 'basic' ? basicBlock : bottleneckBlock;
    const outs: Sym[] = [];
    const outChannels: number[] = [];
    for (let stage = 0; stage < 4; stage++) {
      for (let i = 0; i < blocks[stage]; i++) {
        const stride = stage > 0 && i === 0 ? 2 : 1;
        x = make(f, x, channels, { planes: widths[stage], stride, zeroInitResidual: options.zeroInitResidual }, `layer${stage + 1}.${i}`);
        channels = widths[stage] * EXPANSION[block];
      }
      outs.push(x);
      outChannels.push(channels);
    }
    this.stages = outs as [Sym, Sym, Sym, Sym];
    this.stageChannels = outChannels as [number, number, number, number];
  }

  /** A model from the input to [C2, C3, C4, C5], sharing weights with every other model of this backbone (detection heads build on it). */
  stagesModel(): tfl.LayersModel {
    this.stagesModelCache ??= tfl.model({ inputs: this.input, outputs: this.stages, name: `resnet${this.options.depth}_stages` });
    return this.stagesModelCache;
  }

  /**
   * Global average pool + dense with bias (`fc`) on C5: a model from the input to logits.
   * Initialised as PyTorch's Linear: U(−1/√fan_in, 1/√fan_in) weights.
   */
  classifier(units: number, options: { dropout?: number; seed?: number } = {}): tfl.LayersModel {
    let x = tfl.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(this.stages[3]) as Sym;
    if (options.dropout) x = tfl.layers.dropout({ rate: options.dropout, seed: options.seed, name: 'dropout' }).apply(x) as Sym;
    const logits = tfl.layers.dense({
      units,
      useBias: true,
      name: 'fc',
      kernelInitializer: tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: (options.seed ?? 0) + 7919 }),
      biasInitializer: 'zeros',
    }).apply(x) as Sym;
    return tfl.model({ inputs: this.input, outputs: logits, name: `resnet${this.options.depth}` });
  }
}

/**
 * Parameters as PyTorch counts them (`sum(p.numel() for p in model.parameters())`): every
 * weight a gradient reaches, i.e. without batch-norm running means and variances.
 */
export function countParameters(model: tfl.LayersModel): number {
  return model.weights
    .filter((w) => !RUNNING_STATISTIC.test(w.originalName))
    .reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}

const RUNNING_STATISTIC = /\/moving_(mean|variance)$/;
