import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CommonJS build registers no gradients; the union package registers all of them.
import '@tensorflow/tfjs';
import { TrainingError } from '../errors';
import type { Hooks, Logs, RunEnd, StepInfo, TrainerHandle } from '../hooks';
import type { Batch, Dataset } from '../points/data';
import type { Loss } from '../points/loss';
import type { Metric } from '../points/metric';
import type { Model } from '../points/model';
import type { Optimizer, ParameterUpdate, Schedule } from '../points/optimizer';
import type { Sampler } from '../points/sampler';
import type { Tracker } from '../points/tracker';
import type { KilnConfig } from '../config/schema';
import type { Logger } from '../services/logger';
import { SeededRng } from '../services/rng';
import { disposeBatch } from './collate';
import { InlineLoader, type BatchLoader } from './loader';
import { readSafetensors, writeSafetensors, type StoredTensor } from './safetensors';
import type { SeededMathRandom } from './seeded-random';
import { KILN_VERSION } from '../version';

export interface TrainerParts {
  config: KilnConfig;
  hooks: Hooks;
  logger: Logger;
  model: Model;
  loss: Loss;
  optimizer: Optimizer;
  baseLr: number;
  schedule?: Schedule;
  sampler?: Sampler;
  metrics: Metric[];
  tracker?: Tracker;
  train: Dataset;
  val?: Dataset;
  runDir: string;
  /** The seeded generator behind Math.random during the run (checkpointed for resume). */
  mathRandom?: SeededMathRandom;
  /** Every forked generator of the run, by label (checkpointed for resume). */
  rngs?: () => Map<string, SeededRng>;
  /** Where batches are read and collated (default: on this thread; `trainer.workers` starts worker threads). */
  loader?: BatchLoader;
}

export interface FitResult {
  runDir: string;
  epochsRun: number;
  stepsRun: number;
  /** Logs of the last epoch (`train/loss`, `val/accuracy`, `lr`…). */
  logs: Logs;
  /** Logs of every epoch, in order. */
  history: Logs[];
  stopReason?: string;
  skippedSteps: number;
}

interface TrainingState {
  format: 'kiln-checkpoint/1';
  kilnVersion: string;
  /** Epochs fully completed. */
  epoch: number;
  step: number;
  optimizer: { name: string; iterations: number };
  mathRandom?: number[];
  rngs?: Record<string, number[]>;
  sampler?: unknown;
  history: Logs[];
  skippedSteps: number;
}

const isFiniteNumber = (x: number) => Number.isFinite(x);

/**
 * Name of an optional tfjs kernel: the L2 norm of all its (float32) inputs, named `x0`…`xN`.
 * A backend plugin that registers it turns the Trainer's per-step gradient-norm monitor into
 * one kernel launch; without it the norm is composed from standard ops.
 */
export const GLOBAL_NORM_KERNEL = 'KilnGlobalNorm';

/** The L2 norm of all tensors together, as a scalar tensor (NaN/Inf when any element is). */
export function globalNorm(tensors: tf.Tensor[]): tf.Scalar {
  if (tensors.length && tensors.every((t) => t.dtype === 'float32') && tf.getKernel(GLOBAL_NORM_KERNEL, tf.getBackend())) {
    const inputs: tf.NamedTensorMap = {};
    tensors.forEach((t, i) => (inputs[`x${i}`] = t));
    return tf.engine().runKernel(GLOBAL_NORM_KERNEL, inputs, {}) as tf.Scalar;
  }
  return tf.tidy(() => {
    // A dot product per flattened tensor: half the kernels of square-then-sum.
    const squares = tensors.map((t) => {
      const flat = tf.reshape(t, [-1]) as tf.Tensor1D;
      return tf.dot(flat, flat) as tf.Scalar;
    });
    return tf.sqrt(squares.length === 1 ? squares[0] : tf.addN(squares));
  });
}

/** `min` for losses and errors, `max` for everything else, unless the config says. */
export function inferMode(monitor: string, explicit?: 'min' | 'max'): 'min' | 'max' {
  if (explicit) return explicit;
  return /loss|error|mae|mse|rmse|perplexity/i.test(monitor) ? 'min' : 'max';
}

function toStored(t: tf.Tensor): StoredTensor {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
  const data = t.dataSync();
  return { dtype, shape: t.shape.slice(), data: dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data) };
}

/**
 * Drives epochs → train steps → validation → callbacks through the hooks. One step: forward,
 * loss, gradients, accumulation over micro-batches, clipping by global norm, NaN/Inf guard,
 * update. Everything that decides the result (weights, optimizer slots, RNG positions,
 * sampler state, epoch and step) is in the checkpoint, so a resumed run ends where an
 * uninterrupted one would.
 */
export class Trainer implements TrainerHandle {
  readonly model: Model;
  readonly optimizer: Optimizer;
  readonly runDir: string;
  readonly config: KilnConfig;
  /** Reads and collates the batches (worker threads with `trainer.workers`). */
  readonly loader: BatchLoader;
  private readonly parts: TrainerParts;
  private stopReason?: string;
  private epoch = 0;
  private step = 0;
  private history: Logs[] = [];
  private skippedSteps = 0;
  private readonly paramNames: string[];

  constructor(parts: TrainerParts) {
    this.parts = parts;
    this.model = parts.model;
    this.optimizer = parts.optimizer;
    this.runDir = parts.runDir;
    this.config = parts.config;
    this.loader = parts.loader ?? new InlineLoader();
    this.paramNames = this.stableParamNames();
  }

  /** Names for trainable variables that do not depend on tfjs's process-wide unique-name counters. */
  private stableParamNames(): string[] {
    const byVariable = new Map<unknown, string>();
    for (const [name, tensor] of Object.entries(this.model.getWeights())) byVariable.set(tensor, name);
    return this.model.trainableVariables.map((v, i) => byVariable.get(v) ?? `param${i}/${v.shape.join('x')}`);
  }

  private lastYield = 0;

  /**
   * On CPU backends every await in a step resolves at once, so without this a run would hold
   * the event loop for its whole length: no signal handler, timer, socket or worker heartbeat
   * (BullMQ's lock renewal) would run. A macrotask turn every ~50 ms costs well under 0.1%.
   */
  private async yieldToEventLoop(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < 50) return;
    this.lastYield = now;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  get currentStep(): number {
    return this.step;
  }

  requestStop(reason: string): void {
    this.stopReason ??= reason;
  }

  get stepsPerEpoch(): number {
    const { batchSize, gradAccumulation } = this.config.trainer;
    return Math.ceil(Math.ceil(this.parts.train.size / batchSize) / gradAccumulation);
  }

  private budget(): { epochs: number; totalSteps: number } {
    const { epochs, steps } = this.config.trainer;
    if (steps !== undefined) return { epochs: Math.ceil(steps / this.stepsPerEpoch), totalSteps: steps };
    const e = epochs ?? 10;
    return { epochs: e, totalSteps: e * this.stepsPerEpoch };
  }

  private epochOrder(epoch: number): number[] {
    const { train, sampler } = this.parts;
    if (sampler) return sampler.epochIndices(train, epoch, this.config.seed);
    const order = Array.from({ length: train.size }, (_, i) => i);
    return new SeededRng((this.config.seed * 1000003 + epoch) | 0).shuffle(order);
  }

  /** Writes weights, optimizer slots and the training state as one safetensors file, atomically. */
  async saveCheckpoint(file: string): Promise<void> {
    const tensors: Record<string, StoredTensor> = {};
    for (const [name, t] of Object.entries(this.model.getWeights())) tensors[`model/${name}`] = toStored(t);
    const opt = this.optimizer.getState();
    for (const [name, t] of Object.entries(opt.slots)) tensors[`optimizer/${name}`] = toStored(t);
    const rngs = this.parts.rngs?.();
    const state: TrainingState = {
      format: 'kiln-checkpoint/1',
      kilnVersion: KILN_VERSION,
      epoch: this.epoch,
      step: this.step,
      optimizer: { name: this.optimizer.name, iterations: opt.iterations },
      mathRandom: this.parts.mathRandom?.rng.getState(),
      rngs: rngs ? Object.fromEntries([...rngs].map(([k, r]) => [k, r.getState()])) : undefined,
      sampler: this.parts.sampler?.state?.(),
      history: this.history,
      skippedSteps: this.skippedSteps,
    };
    writeSafetensors(file, tensors, { format: 'kiln', kiln: JSON.stringify(state) });
  }

  /** Restores everything saveCheckpoint wrote. With `weightsOnly`, only the model. */
  loadCheckpoint(file: string, weightsOnly = false): void {
    const { tensors, metadata } = readSafetensors(file);
    const weights: tf.NamedTensorMap = {};
    const slots: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      const tensor = tf.tensor(t.data, t.shape, t.dtype);
      if (name.startsWith('model/')) weights[name.slice(6)] = tensor;
      else if (name.startsWith('optimizer/')) slots[name.slice(10)] = tensor;
      else tensor.dispose();
    }
    this.model.setWeights(weights);
    tf.dispose(Object.values(weights));
    if (weightsOnly) {
      tf.dispose(Object.values(slots));
      return;
    }
    const state = JSON.parse(metadata.kiln ?? 'null') as TrainingState | null;
    if (!state || state.format !== 'kiln-checkpoint/1') {
      tf.dispose(Object.values(slots));
      throw new TrainingError('not a Kiln training checkpoint (no training state)', { where: file, hint: 'resume needs a checkpoint written by kiln train' });
    }
    this.optimizer.setState({ iterations: state.optimizer.iterations, slots });
    tf.dispose(Object.values(slots));
    this.epoch = state.epoch;
    this.step = state.step;
    this.history = state.history;
    this.skippedSteps = state.skippedSteps;
    if (state.mathRandom) this.parts.mathRandom?.rng.setState(state.mathRandom);
    const rngs = this.parts.rngs?.();
    for (const [label, s] of Object.entries(state.rngs ?? {})) rngs?.get(label)?.setState(s);
    if (state.sampler !== undefined) this.parts.sampler?.restore?.(state.sampler);
  }

  /** One optimizer step over `micro` micro-batches; returns the mean loss and the pre-clip gradient norm. */
  private async trainStep(micro: Batch[], info: Omit<StepInfo, 'batch'>): Promise<{ loss: number; gradNorm: number; lr: number; skipped: boolean }> {
    const { loss: lossFn, sampler, config } = this.parts;
    const variables = this.model.trainableVariables;
    let accumulated: tf.Tensor[] | undefined;
    let lossSum: tf.Scalar | undefined;
    for (const batch of micro) {
      let perExample: tf.Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const predictions = this.model.apply(batch.inputs, { training: true });
        if (sampler?.observe) perExample = tf.keep(lossFn.perExample(predictions, batch.targets));
        return lossFn.compute(predictions, batch.targets, batch.weights);
      }, variables);
      const list = variables.map((v) => grads[v.name]);
      if (!accumulated) accumulated = list;
      else {
        const previous = accumulated;
        accumulated = previous.map((g, i) => tf.add(g, list[i]));
        tf.dispose([...previous, ...list]);
      }
      const previousLoss = lossSum;
      lossSum = previousLoss ? (tf.add(previousLoss, value) as tf.Scalar) : value;
      if (previousLoss) tf.dispose([previousLoss, value]);
      if (perExample) {
        sampler!.observe!(batch.indices, (await perExample.data()) as Float32Array, info.epoch);
        perExample.dispose();
      }
    }
    const n = micro.length;
    const grads = n === 1 ? accumulated! : accumulated!.map((g) => tf.tidy(() => tf.div(g, n)));
    if (n > 1) tf.dispose(accumulated!);
    // One read for both numbers: the loss and the global gradient norm (NaN/Inf when any gradient is).
    const readout = tf.tidy(() => tf.stack([globalNorm(grads), n === 1 ? lossSum! : tf.div(lossSum!, n)]));
    const [gradNorm, loss] = await readout.data();
    tf.dispose([readout, lossSum!]);

    const lr = this.parts.schedule ? this.parts.schedule.lr(this.step, this.parts.baseLr, this.budget().totalSteps) : this.parts.baseLr;
    if (!isFiniteNumber(gradNorm) || !isFiniteNumber(loss)) {
      tf.dispose(grads);
      this.skippedSteps++;
      this.parts.logger.warn(`step ${this.step + 1}: ${isFiniteNumber(loss) ? 'gradient norm' : 'loss'} is ${isFiniteNumber(loss) ? gradNorm : loss}; update skipped (${this.skippedSteps}/${config.trainer.maxBadSteps} allowed)`);
      if (this.skippedSteps > config.trainer.maxBadSteps) {
        throw new TrainingError(`${this.skippedSteps} steps had a NaN/Inf loss or gradient; training stopped at epoch ${info.epoch + 1}, step ${this.step + 1}`, {
          where: 'trainer.maxBadSteps',
          hint: 'lower optimizer.lr, set trainer.clipNorm, or check the data for NaN/Inf values',
        });
      }
      return { loss, gradNorm, lr, skipped: true };
    }
    const clip = config.trainer.clipNorm;
    const scale = clip !== undefined && gradNorm > clip ? clip / (gradNorm + 1e-6) : 1;
    const updates: ParameterUpdate[] = variables.map((variable, i) => ({
      name: this.paramNames[i],
      variable,
      gradient: scale === 1 ? grads[i] : tf.mul(grads[i], scale),
    }));
    this.optimizer.step(updates, lr);
    tf.dispose(grads);
    if (scale !== 1) tf.dispose(updates.map((u) => u.gradient));
    return { loss, gradNorm, lr, skipped: false };
  }

  /** Loss and metrics over the validation set, without gradients. */
  async validate(epoch = this.epoch): Promise<Logs> {
    const { val, loss: lossFn, metrics, hooks } = this.parts;
    if (!val) return {};
    for (const m of metrics) m.reset();
    const batchSize = this.config.trainer.valBatchSize ?? this.config.trainer.batchSize;
    let lossSum = 0;
    let count = 0;
    let stepInEpoch = 0;
    const order = Array.from({ length: val.size }, (_, i) => i);
    for await (const batch of this.loader.batches(val, order, batchSize)) {
      const predictions = tf.tidy(() => this.model.apply(batch.inputs, { training: false }));
      const lossTensor = tf.tidy(() => lossFn.compute(predictions, batch.targets));
      const batchLoss = (await lossTensor.data())[0];
      const n = batch.indices.length;
      lossSum += batchLoss * n;
      count += n;
      for (const m of metrics) await m.update(predictions, batch.targets);
      tf.dispose([predictions, lossTensor]);
      disposeBatch(batch);
      await hooks.afterValStep.promise({ trainer: this, epoch, stepInEpoch: stepInEpoch++, batchSize: n, loss: batchLoss });
    }
    const logs: Logs = { 'val/loss': count ? lossSum / count : NaN };
    for (const m of metrics) {
      for (const [k, v] of Object.entries(await m.result())) logs[`val/${k}`] = v;
    }
    return logs;
  }

  async fit(options: { resumeFrom?: string } = {}): Promise<FitResult> {
    const { hooks, train, config, tracker } = this.parts;
    if (options.resumeFrom) {
      this.loadCheckpoint(options.resumeFrom);
      this.parts.logger.info(`resumed from ${options.resumeFrom} at epoch ${this.epoch}, step ${this.step}`);
    }
    const { epochs, totalSteps } = this.budget();
    const stepsPerEpoch = this.stepsPerEpoch;
    const { batchSize, gradAccumulation, validateEvery } = config.trainer;
    const startEpoch = this.epoch;
    await hooks.beforeRun.promise({ trainer: this, epochs, stepsPerEpoch, totalSteps, startEpoch, startStep: this.step });
    let logs: Logs = this.history[this.history.length - 1] ?? {};
    try {
      for (let epoch = startEpoch; epoch < epochs && !this.stopReason && this.step < totalSteps; epoch++) {
        await hooks.beforeEpoch.promise({ trainer: this, epoch, epochs, stepsPerEpoch });
        const order = this.epochOrder(epoch);
        const weightOf = this.parts.sampler?.weightOf?.bind(this.parts.sampler);
        const batches = this.loader.batches(train, order, batchSize, weightOf);
        let lossSum = 0;
        let lossCount = 0;
        let lastLr = this.parts.baseLr;
        for (let stepInEpoch = 0; stepInEpoch < stepsPerEpoch && this.step < totalSteps; stepInEpoch++) {
          const micro: Batch[] = [];
          const info = { trainer: this, epoch, step: this.step, stepInEpoch, stepsPerEpoch };
          for (let k = 0; k < gradAccumulation; k++) {
            const next = await batches.next();
            if (next.done) break;
            micro.push(hooks.modifyBatch.call(next.value, { ...info, batch: next.value }));
          }
          if (micro.length === 0) break;
          await hooks.beforeTrainStep.promise({ ...info, batch: micro[0] });
          let result;
          try {
            result = await this.trainStep(micro, info);
          } finally {
            micro.forEach(disposeBatch);
          }
          this.step++;
          if (!result.skipped) {
            lossSum += result.loss;
            lossCount++;
          }
          lastLr = result.lr;
          const running: Logs = { loss: lossCount ? lossSum / lossCount : NaN, lr: result.lr };
          await hooks.afterTrainStep.promise({
            ...info,
            batchSize: micro.reduce((a, b) => a + b.indices.length, 0),
            loss: result.loss,
            lr: result.lr,
            gradNorm: result.gradNorm,
            skipped: result.skipped,
            logs: running,
          });
          const reason = hooks.shouldStop.call({ phase: 'step', epoch, step: this.step, logs: running });
          if (reason) this.requestStop(reason);
          if (this.stopReason) break;
          await this.yieldToEventLoop();
        }
        // A loop cut short (step budget, stop request) releases what the loader prepared ahead.
        await batches.return();

        logs = { epoch: epoch + 1, 'train/loss': lossCount ? lossSum / lossCount : NaN, lr: lastLr };
        const validateNow = (epoch + 1) % validateEvery === 0 || epoch + 1 === epochs;
        if (this.parts.val && validateNow) {
          await hooks.beforeValidate.promise({ trainer: this, epoch, epochs, stepsPerEpoch });
          Object.assign(logs, await this.validate(epoch));
          await hooks.afterValidate.promise({ trainer: this, epoch, epochs, logs });
        }
        this.epoch = epoch + 1;
        this.history.push(logs);
        if (tracker) {
          await tracker.logMetrics(logs, this.step);
          // An epoch's metrics are on disk (or the server) before the next epoch starts.
          await tracker.flush();
        }
        await hooks.afterEpoch.promise({ trainer: this, epoch, epochs, logs });
        const reason = hooks.shouldStop.call({ phase: 'epoch', epoch, step: this.step, logs });
        if (reason) this.requestStop(reason);
      }
    } catch (error) {
      await hooks.onError.promise(error);
      throw error;
    }
    const end: RunEnd = { trainer: this, logs, epochsRun: this.epoch - startEpoch, stepsRun: this.step, stopReason: this.stopReason };
    await hooks.afterRun.promise(end);
    return { runDir: this.runDir, epochsRun: this.epoch, stepsRun: this.step, logs, history: this.history, stopReason: this.stopReason, skippedSteps: this.skippedSteps };
  }
}

/** `<runDir>/checkpoints/last.safetensors` when present. */
export function lastCheckpoint(runDir: string): string | undefined {
  const file = path.join(runDir, 'checkpoints', 'last.safetensors');
  return fs.existsSync(file) ? file : undefined;
}
