import { z } from 'zod';

export const RESNET_DEPTHS = [18, 34, 50, 101, 152] as const;
export type ResNetDepth = (typeof RESNET_DEPTHS)[number];

export const ResNetOptions = z.strictObject({
  depth: z.literal(RESNET_DEPTHS)
    .default(18)
    .describe('Number of weighted layers: 18 and 34 use basic blocks (two 3×3 convs), 50, 101 and 152 bottleneck blocks (1×1, 3×3, 1×1 convs, 4× expansion).'),
  stem: z.enum(['imagenet', 'cifar']).default('imagenet')
    .describe('imagenet: 7×7/2 conv + batch norm + ReLU + 3×3/2 max-pool (features at strides 4–32); cifar: 3×3/1 conv + batch norm + ReLU, no pool (strides 1–8), for 32×32 images.'),
  widthMultiplier: z.number().positive().max(8).default(1)
    .describe('Scales the base widths 64/128/256/512 (and the stem), rounded to whole channels; 0.25 gives 16/32/64/128.'),
  zeroInitResidual: z.boolean().default(false)
    .describe('Start the last batch-norm gamma of every block at 0, so each residual branch starts as the identity (Goyal et al. 2017); helps large-batch training.'),
  dropout: z.number().min(0).lt(1).default(0)
    .describe('Dropout rate before the classification layer (training only).'),
});
export type ResNetOptions = z.output<typeof ResNetOptions>;
export type ResNetOptionsInput = z.input<typeof ResNetOptions>;
