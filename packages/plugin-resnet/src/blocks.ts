import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization } from './fused-batch-norm-layer';

type Sym = tfl.SymbolicTensor;

/** Builds conv and batch-norm layers with torchvision's names, initialisation and padding. */
export class LayerFactory {
  private count = 0;

  constructor(private readonly seed: number) {}

  /**
   * A bias-free k×k conv. Strided convs pad (k−1)/2 on every side first, as PyTorch does:
   * tfjs's 'same' pads only bottom/right for even inputs, which would shift every window.
   */
  conv(x: Sym, filters: number, kernelSize: number, stride: number, name: string): Sym {
    const pad = (kernelSize - 1) / 2;
    let input = x;
    let padding: 'same' | 'valid' = 'same';
    if (stride > 1 && pad > 0) {
      input = tfl.layers.zeroPadding2d({ padding: pad, name: `${name}.pad` }).apply(x) as Sym;
      padding = 'valid';
    } else if (kernelSize === 1) {
      padding = 'valid';
    }
    return tfl.layers.conv2d({
      filters,
      kernelSize,
      strides: stride,
      padding,
      useBias: false,
      name,
      // kaiming_normal_(mode='fan_out', nonlinearity='relu'), as torchvision.
      kernelInitializer: tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: this.seed + this.count++ }),
    }).apply(input) as Sym;
  }

  /** PyTorch BatchNorm2d defaults: eps 1e-5, momentum 0.1 (tfjs counts the kept fraction, 0.9). */
  batchNorm(x: Sym, name: string, zeroGamma = false): Sym {
    return new FusedBatchNormalization({
      axis: -1,
      momentum: 0.9,
      epsilon: 1e-5,
      name,
      gammaInitializer: zeroGamma ? 'zeros' : 'ones',
    }).apply(x) as Sym;
  }

  relu(x: Sym, name: string): Sym {
    return tfl.layers.reLU({ name }).apply(x) as Sym;
  }
}

export interface BlockSpec {
  /** Width of the block's 3×3 conv(s). */
  planes: number;
  stride: number;
  zeroInitResidual: boolean;
}

/** Channels a block outputs: `planes` for basic blocks, 4·`planes` for bottlenecks. */
export const EXPANSION = { basic: 1, bottleneck: 4 } as const;
export type BlockKind = keyof typeof EXPANSION;

/** Identity when the shape is kept, else a 1×1 conv (stride s) + batch norm, as torchvision's `downsample`. */
function shortcut(f: LayerFactory, x: Sym, inChannels: number, outChannels: number, stride: number, name: string): Sym {
  if (stride === 1 && inChannels === outChannels) return x;
  return f.batchNorm(f.conv(x, outChannels, 1, stride, `${name}.downsample.0`), `${name}.downsample.1`);
}

/** Two 3×3 convs (ResNet-18/34). */
export function basicBlock(f: LayerFactory, x: Sym, inChannels: number, spec: BlockSpec, name: string): Sym {
  const out = spec.planes;
  let y = f.relu(f.batchNorm(f.conv(x, out, 3, spec.stride, `${name}.conv1`), `${name}.bn1`), `${name}.relu1`);
  y = f.batchNorm(f.conv(y, out, 3, 1, `${name}.conv2`), `${name}.bn2`, spec.zeroInitResidual);
  const identity = shortcut(f, x, inChannels, out, spec.stride, name);
  return f.relu(tfl.layers.add({ name: `${name}.add` }).apply([y, identity]) as Sym, `${name}.relu`);
}

/** 1×1 reduce, 3×3 (carrying the stride, as torchvision's ResNet v1.5), 1×1 expand ×4 (ResNet-50/101/152). */
export function bottleneckBlock(f: LayerFactory, x: Sym, inChannels: number, spec: BlockSpec, name: string): Sym {
  const width = spec.planes;
  const out = spec.planes * EXPANSION.bottleneck;
  let y = f.relu(f.batchNorm(f.conv(x, width, 1, 1, `${name}.conv1`), `${name}.bn1`), `${name}.relu1`);
  y = f.relu(f.batchNorm(f.conv(y, width, 3, spec.stride, `${name}.conv2`), `${name}.bn2`), `${name}.relu2`);
  y = f.batchNorm(f.conv(y, out, 1, 1, `${name}.conv3`), `${name}.bn3`, spec.zeroInitResidual);
  const identity = shortcut(f, x, inChannels, out, spec.stride, name);
  return f.relu(tfl.layers.add({ name: `${name}.add` }).apply([y, identity]) as Sym, `${name}.relu`);
}
