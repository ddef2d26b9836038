// tfjs-layers registers the gradient kernels that tfjs-core's node bundle leaves out.
import '@tensorflow/tfjs-layers';
import { definePlugin, Tokens } from '@kiln/core';
import { version } from '../package.json';
import { CrossEntropyLoss, CrossEntropyOptions } from './losses/cross-entropy';
import { BinaryCrossEntropyLoss, BinaryCrossEntropyOptions } from './losses/binary-cross-entropy';
import { MseLoss, MseOptions } from './losses/mse';
import { HuberLoss, HuberOptions } from './losses/huber';
import { FocalLoss, FocalOptions } from './losses/focal';
import { TokenCrossEntropyLoss, TokenCrossEntropyOptions } from './losses/token-cross-entropy';
import { SgdOptimizer, SgdOptions } from './optimizers/sgd';
import { AdamOptimizer, AdamOptions, AdamWOptimizer, AdamWOptions } from './optimizers/adam';
import { LambOptimizer, LambOptions } from './optimizers/lamb';
import { RmspropOptimizer, RmspropOptions } from './optimizers/rmsprop';
import { ConstantSchedule, ConstantScheduleOptions } from './schedules/constant';
import { StepSchedule, StepScheduleOptions } from './schedules/step';
import { CosineSchedule, CosineScheduleOptions } from './schedules/cosine';
import { PolynomialSchedule, PolynomialScheduleOptions } from './schedules/polynomial';
import { AccuracyMetric, AccuracyOptions } from './metrics/accuracy';
import { TopKAccuracyMetric, TopKOptions } from './metrics/top-k';
import { PrecisionRecallF1Metric, PrecisionRecallF1Options } from './metrics/precision-recall-f1';
import { ConfusionMatrixMetric, ConfusionMatrixOptions } from './metrics/confusion-matrix';
import { RegressionMetric, RegressionOptions } from './metrics/regression';
import { CheckpointCallback, CheckpointOptions } from './callbacks/checkpoint';
import { EarlyStoppingCallback, EarlyStoppingOptions } from './callbacks/early-stopping';
import { ProgressBarCallback, ProgressBarOptions } from './callbacks/progress-bar';
import { MetricsLogCallback, MetricsLogOptions } from './callbacks/metrics-log';
import { GradNormMonitorCallback, GradNormMonitorOptions } from './callbacks/grad-norm-monitor';
import { KernelProfileCallback, KernelProfileOptions } from './callbacks/kernel-profile';
import { buildMlp, MlpOptions } from './models/mlp';
import { buildSimpleCnn, SimpleCnnOptions } from './models/simple-cnn';

const plugin = definePlugin({
  name: '@kiln/plugin-train-basics',
  version,
  kiln: '^0.1.0',
  description: 'Losses, optimizers, LR schedules, metrics, callbacks and small models.',
  register(ctx) {
    ctx.provide(Tokens.Loss, 'cross-entropy', (o) => new CrossEntropyLoss(o), CrossEntropyOptions, { description: 'Softmax cross-entropy from logits; index or probability targets, label smoothing, class weights.' });
    ctx.provide(Tokens.Loss, 'binary-cross-entropy', (o) => new BinaryCrossEntropyLoss(o), BinaryCrossEntropyOptions, { description: 'Sigmoid cross-entropy from logits for binary and multi-label targets.' });
    ctx.provide(Tokens.Loss, 'mse', () => new MseLoss(), MseOptions, { description: 'Mean squared error.' });
    ctx.provide(Tokens.Loss, 'huber', (o) => new HuberLoss(o), HuberOptions, { description: 'Huber loss (smooth L1 scaled by delta).' });
    ctx.provide(Tokens.Loss, 'focal', (o) => new FocalLoss(o), FocalOptions, { description: 'Focal loss (Lin et al. 2017), softmax or sigmoid.' });
    ctx.provide(Tokens.Loss, 'token-cross-entropy', (o) => new TokenCrossEntropyLoss(o), TokenCrossEntropyOptions, { description: 'Per-token cross-entropy; targets < 0 (-100) are ignored.' });

    ctx.provide(Tokens.Optimizer, 'sgd', (o) => new SgdOptimizer(o), SgdOptions, { description: 'SGD with momentum, Nesterov and L2 weight decay (PyTorch semantics).' });
    ctx.provide(Tokens.Optimizer, 'adam', (o) => new AdamOptimizer(o), AdamOptions, { description: 'Adam (PyTorch semantics), optional AMSGrad and L2 weight decay.' });
    ctx.provide(Tokens.Optimizer, 'adamw', (o) => new AdamWOptimizer(o), AdamWOptions, { description: 'Adam with decoupled weight decay (Loshchilov & Hutter).' });
    ctx.provide(Tokens.Optimizer, 'lamb', (o) => new LambOptimizer(o), LambOptions, { description: 'LAMB layer-wise adaptive large-batch optimizer (You et al. 2020).' });
    ctx.provide(Tokens.Optimizer, 'rmsprop', (o) => new RmspropOptimizer(o), RmspropOptions, { description: 'RMSprop (PyTorch semantics), optional momentum and centering.' });

    ctx.provide(Tokens.Schedule, 'constant', (o) => new ConstantSchedule(o), ConstantScheduleOptions, { description: 'Constant rate after a linear warmup.' });
    ctx.provide(Tokens.Schedule, 'step', (o) => new StepSchedule(o), StepScheduleOptions, { description: 'Multiply by gamma every stepSize steps.' });
    ctx.provide(Tokens.Schedule, 'cosine', (o) => new CosineSchedule(o), CosineScheduleOptions, { description: 'Cosine decay to minLr.' });
    ctx.provide(Tokens.Schedule, 'polynomial', (o) => new PolynomialSchedule(o), PolynomialScheduleOptions, { description: 'Polynomial decay to endLr (power 1: linear).' });

    ctx.provide(Tokens.Metric, 'accuracy', (o) => new AccuracyMetric(o), AccuracyOptions, { description: 'Arg-max (or thresholded binary) accuracy.' });
    ctx.provide(Tokens.Metric, 'top-k', (o) => new TopKAccuracyMetric(o), TopKOptions, { description: 'Top-k accuracy, reported as top<k>_accuracy.' });
    ctx.provide(Tokens.Metric, 'precision-recall-f1', (o) => new PrecisionRecallF1Metric(o), PrecisionRecallF1Options, { description: 'Precision, recall and F1 (micro, macro or weighted), sklearn definitions.' });
    ctx.provide(Tokens.Metric, 'confusion-matrix', (o, c) => new ConfusionMatrixMetric(o, c.dataset?.classNames), ConfusionMatrixOptions, { description: 'Confusion matrix (details) and the accuracy it implies.' });
    ctx.provide(Tokens.Metric, 'regression', () => new RegressionMetric(), RegressionOptions, { description: 'MAE, MSE, RMSE and R² over the whole set.' });

    ctx.provide(Tokens.Callback, 'checkpoint', (o, c) => new CheckpointCallback(o, c.logger, c.config), CheckpointOptions, { description: 'Saves checkpoints/last every epoch and checkpoints/best by a monitored value.' });
    ctx.provide(Tokens.Callback, 'early-stopping', (o, c) => new EarlyStoppingCallback(o, c.logger, c.config), EarlyStoppingOptions, { description: 'Stops when a monitored value stops improving.' });
    ctx.provide(Tokens.Callback, 'progress-bar', (o) => new ProgressBarCallback(o), ProgressBarOptions, { description: 'Progress bar per epoch on stderr (one line per epoch when not a terminal).' });
    ctx.provide(Tokens.Callback, 'metrics-log', (o) => new MetricsLogCallback(o), MetricsLogOptions, { description: 'Appends epoch (and step) logs to <runDir>/metrics.jsonl.' });
    ctx.provide(Tokens.Callback, 'grad-norm-monitor', (o, c) => new GradNormMonitorCallback(o, c.logger), GradNormMonitorOptions, { description: 'Gradient-norm statistics per epoch, warnings on spikes.' });
    ctx.provide(Tokens.Callback, 'kernel-profile', (o, c) => new KernelProfileCallback(o, c.logger), KernelProfileOptions, { description: 'Per-kernel self time over a window of training steps (table + kernel-profile.json).' });

    ctx.provide(Tokens.Model, 'mlp', (o, c) => buildMlp(o, c.dataset, c.seed, c.path), MlpOptions, { description: 'Multi-layer perceptron sized by the dataset.' });
    ctx.provide(Tokens.Model, 'simple-cnn', (o, c) => buildSimpleCnn(o, c.dataset, c.seed, c.path), SimpleCnnOptions, { description: 'Small conv-bn-relu-pool network with a dense head.' });
  },
});

export default plugin;

export { CrossEntropyLoss, CrossEntropyOptions, BinaryCrossEntropyLoss, BinaryCrossEntropyOptions, MseLoss, MseOptions, HuberLoss, HuberOptions, FocalLoss, FocalOptions, TokenCrossEntropyLoss, TokenCrossEntropyOptions };
export { weightedMean } from './losses/reduce';
export { SlottedOptimizer } from './optimizers/slotted-optimizer';
export { SgdOptimizer, SgdOptions, AdamOptimizer, AdamOptions, AdamWOptimizer, AdamWOptions, LambOptimizer, LambOptions, RmspropOptimizer, RmspropOptions };
export { WarmupSchedule } from './schedules/warmup';
export { ConstantSchedule, ConstantScheduleOptions, StepSchedule, StepScheduleOptions, CosineSchedule, CosineScheduleOptions, PolynomialSchedule, PolynomialScheduleOptions };
export { AccuracyMetric, AccuracyOptions, TopKAccuracyMetric, TopKOptions, PrecisionRecallF1Metric, PrecisionRecallF1Options, ConfusionMatrixMetric, ConfusionMatrixOptions, RegressionMetric, RegressionOptions };
export type { ConfusionMatrixDetails } from './metrics/confusion-matrix';
export { CheckpointCallback, CheckpointOptions, EarlyStoppingCallback, EarlyStoppingOptions, ProgressBarCallback, ProgressBarOptions, MetricsLogCallback, MetricsLogOptions, GradNormMonitorCallback, GradNormMonitorOptions };
export type { GradNormStats } from './callbacks/grad-norm-monitor';
export { KernelProfileCallback, KernelProfileOptions } from './callbacks/kernel-profile';
export { LayersModelAdapter, type LayersModelAdapterOptions } from './models/layers-model-adapter';
export { buildMlp, MlpOptions, buildSimpleCnn, SimpleCnnOptions };
