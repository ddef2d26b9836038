import { definePlugin, Tokens } from '@kiln/core';
import { ResNetOptions } from './options';
import { buildResNet } from './resnet-model';

export { ResNetOptions, RESNET_DEPTHS, type ResNetDepth, type ResNetOptionsInput } from './options';
export { ResNetBackbone, RESNET_LAYOUT, BASE_WIDTHS, stageWidths, countParameters, type BackboneOptions, type BackboneBuildOptions } from './resnet';
export { ResNetModel, buildResNet } from './resnet-model';

export default definePlugin({
  name: '@kiln/plugin-resnet',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'ResNet-18/34/50/101/152 backbones (ImageNet and CIFAR stems) with stage outputs C2–C5 and a classification head.',
  register(ctx) {
    ctx.provide(Tokens.Model, 'resnet', (options, context) => buildResNet(options, { dataset: context.dataset, seed: context.seed, where: context.path }), ResNetOptions, {
      description: 'ResNet (He et al. 2016, torchvision v1.5 layout): depth 18|34|50|101|152, imagenet or cifar stem, width multiplier',
    });
  },
});
