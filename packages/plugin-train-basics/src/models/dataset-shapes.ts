import { ConfigError, type DatasetInfo, type InputSpec } from '@kiln/core';

/** The dataset a model is built for, or a ConfigError naming the model block. */
export function requireDataset(dataset: DatasetInfo | undefined, where: string): DatasetInfo & { inputs: [InputSpec, ...InputSpec[]] } {
  if (!dataset) {
    throw new ConfigError('the model needs the dataset info to size its input and output layers, but none was given', {
      where,
      hint: 'configure a `data` block, or pass `dataset` in the build context when building the model programmatically',
    });
  }
  if (dataset.inputs.length === 0) {
    throw new ConfigError('the dataset has no inputs', { where, hint: 'check the reader configuration' });
  }
  return dataset as DatasetInfo & { inputs: [InputSpec, ...InputSpec[]] };
}

/** Units of the output layer: one logit per class, or the flattened target size for regression. */
export function outputUnits(dataset: DatasetInfo, where: string): number {
  if (dataset.task === 'classification') {
    const classes = dataset.classNames?.length ?? 0;
    if (classes < 2) {
      throw new ConfigError(`a classification dataset needs at least 2 class names, got ${classes}`, {
        where,
        hint: 'check the reader\'s label column or class list',
      });
    }
    return classes;
  }
  if (dataset.task === 'regression') return dataset.targetShape.reduce((a, b) => a * b, 1);
  throw new ConfigError(`this model supports classification and regression datasets, not "${dataset.task}"`, {
    where,
    hint: 'pick a model made for this task (e.g. a token-classification head from @kiln/plugin-bert)',
  });
}

/** tfjs-layers accepts only [A-Za-z0-9][-A-Za-z0-9._/]* as names; batch keys keep the dataset's name. */
export function layerName(name: string): string {
  const cleaned = name.replace(/[^-A-Za-z0-9._/]/g, '_');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned : `input_${cleaned}`;
}
