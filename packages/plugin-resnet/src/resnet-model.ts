import { ConfigError, type DatasetInfo, type ModelBuildContext } from '@kiln/core';
import { LayersModelAdapter } from '@kiln/plugin-train-basics';
import type * as tfl from '@tensorflow/tfjs-layers';
import { countParameters, ResNetBackbone } from './resnet';
import { ResNetOptions, type ResNetOptionsInput } from './options';

/**
 * A ResNet classifier (or regressor) as a Kiln Model. `countParams()` counts as PyTorch and
 * torchvision do, without batch-norm running statistics (ResNet-18 with 1000 classes:
 * 11,689,512); `countParams({ includeRunningStatistics: true })` counts every stored weight.
 */
export class ResNetModel extends LayersModelAdapter {
  constructor(readonly backbone: ResNetBackbone, layersModel: tfl.LayersModel, inputKey: string) {
    super(layersModel, { name: `resnet${backbone.options.depth}`, inputKeys: [inputKey] });
  }

  /** The backbone up to [C2, C3, C4, C5], sharing this model's weights. */
  stagesModel(): tfl.LayersModel {
    return this.backbone.stagesModel();
  }

  override countParams(options: { includeRunningStatistics?: boolean } = {}): number {
    return options.includeRunningStatistics ? this.layersModel.countParams() : countParameters(this.layersModel);
  }
}

/** Builds a ResNet for a dataset: input from its first InputSpec ([h, w, c] or [h, w]), one logit per class. */
export function buildResNet(options: ResNetOptionsInput, context: Partial<ModelBuildContext> & { seed?: number; where?: string } = {}): ResNetModel {
  const where = context.where ?? 'model';
  const opts = ResNetOptions.parse(options);
  const dataset = context.dataset;
  if (!dataset || dataset.inputs.length === 0) {
    throw new ConfigError('resnet needs the dataset info to size its input and head, but none was given', {
      where,
      hint: 'configure a `data` block, or pass `dataset` when building the model programmatically',
    });
  }
  const spec = dataset.inputs[0];
  if (spec.shape.length !== 3 && spec.shape.length !== 2) {
    throw new ConfigError(`resnet needs image inputs [height, width, channels], but input "${spec.name}" has shape [${spec.shape}]`, {
      where,
      hint: 'use an image reader (image-folder, idx, synthetic-shapes), or the mlp model for flat features',
    });
  }
  if (spec.shape.length === 2) {
    throw new ConfigError(`resnet needs a channel axis, but input "${spec.name}" has shape [${spec.shape}]`, {
      where,
      hint: 'give the reader a channel count (e.g. channels: 1 for grayscale), so images are [height, width, 1]',
    });
  }
  const [h, w, c] = spec.shape as [number, number, number];
  const minSide = opts.stem === 'imagenet' ? 32 : 8;
  if (Math.min(h, w) < minSide) {
    throw new ConfigError(`images of ${h}×${w} are too small for the ${opts.stem} stem, which downsamples by ${minSide}`, {
      where: `${where}.stem`,
      hint: opts.stem === 'imagenet' ? 'use stem: cifar for small images' : `resize images to at least ${minSide}×${minSide}`,
    });
  }
  const units = outputUnits(dataset, where);
  const seed = context.seed ?? 0;
  const backbone = new ResNetBackbone(opts, { inputShape: [h, w, c], seed, inputName: layerName(spec.name) });
  const classifier = backbone.classifier(units, { dropout: opts.dropout, seed });
  return new ResNetModel(backbone, classifier, spec.name);
}

function outputUnits(dataset: DatasetInfo, where: string): number {
  if (dataset.task === 'classification') {
    const classes = dataset.classNames?.length ?? 0;
    if (classes < 2) {
      throw new ConfigError(`a classification dataset needs at least 2 class names, got ${classes}`, { where, hint: "check the reader's label column or class list" });
    }
    return classes;
  }
  if (dataset.task === 'regression') return dataset.targetShape.reduce((a, b) => a * b, 1);
  throw new ConfigError(`resnet classifies or regresses images, not "${dataset.task}" datasets`, {
    where,
    hint: 'for detection, build on ResNetBackbone.stagesModel() (C2–C5) with a detection head',
  });
}

/** tfjs-layers names must match [A-Za-z0-9][-A-Za-z0-9._/]*; the batch key keeps the dataset's name. */
function layerName(name: string): string {
  const cleaned = name.replace(/[^-A-Za-z0-9._/]/g, '_');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned : `input_${cleaned}`;
}
