import {
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  SyncBailHook,
  SyncHook,
  SyncWaterfallHook,
} from 'tapable';
import type { Batch } from './points/data';
import type { Model } from './points/model';
import type { Optimizer } from './points/optimizer';
import type { TrialResult, TrialSuggestion } from './points/tuner';
import type { ExportResult } from './points/exporter';
import type { Command } from './points/command';
import type { KilnConfig } from './config/schema';

/** Metric values by name, e.g. `{ loss: 0.3, accuracy: 0.9 }`. */
export type Logs = Record<string, number>;

/** The parts of a running trainer that hooks may read or steer. */
export interface TrainerHandle {
  readonly model: Model;
  readonly optimizer: Optimizer;
  /** Directory of this run (checkpoints, metrics log, run record). */
  readonly runDir: string;
  readonly config: KilnConfig;
  /** Asks the loop to stop after the current step; the reason is reported at the end. */
  requestStop(reason: string): void;
  /** Writes a checkpoint of the full training state to `path` (atomically). */
  saveCheckpoint(path: string): Promise<void>;
  /** Optimizer steps completed so far in the run (across resumes). */
  readonly currentStep: number;
}

export interface RunInfo {
  trainer: TrainerHandle;
  epochs: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** First epoch to run (> 0 when resuming). */
  startEpoch: number;
  startStep: number;
}

export interface EpochInfo {
  trainer: TrainerHandle;
  epoch: number;
  epochs: number;
  stepsPerEpoch: number;
}

export interface StepInfo {
  trainer: TrainerHandle;
  epoch: number;
  /** Optimizer steps completed before this one, over the whole run. */
  step: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  batch: Batch;
}

export interface StepResult extends Omit<StepInfo, 'batch'> {
  batchSize: number;
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** True when the NaN/Inf guard skipped the update. */
  skipped: boolean;
  /** Running means over the epoch so far (loss and train metrics). */
  logs: Logs;
}

export interface ValStepInfo {
  trainer: TrainerHandle;
  epoch: number;
  stepInEpoch: number;
  batchSize: number;
  loss: number;
}

export interface EpochEnd {
  trainer: TrainerHandle;
  epoch: number;
  epochs: number;
  /** `train/loss`, `val/loss`, `val/accuracy`, `lr`… */
  logs: Logs;
}

export interface RunEnd {
  trainer: TrainerHandle;
  logs: Logs;
  epochsRun: number;
  stepsRun: number;
  stopReason?: string;
}

export interface StopCheck {
  phase: 'step' | 'epoch';
  epoch: number;
  step: number;
  logs: Logs;
}

export interface CheckpointInfo {
  path: string;
  kind: 'last' | 'best';
  /** The epoch just finished (0-based, as in `afterEpoch`). */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  logs: Logs;
}

export interface ExportInfo {
  result: ExportResult;
}

export interface TrialEvent {
  phase: 'start' | 'epoch' | 'end';
  suggestion: TrialSuggestion;
  epoch?: number;
  value?: number;
  result?: TrialResult;
}

/**
 * The whole lifecycle, in one place. Order within a run:
 * beforeRun → [ beforeEpoch → ( beforeTrainStep → afterTrainStep )* →
 *   beforeValidate → ( afterValStep )* → afterValidate → afterEpoch ]* → afterRun.
 * `shouldStop` (bail) is asked after every step and every epoch: the first tap to return
 * a reason stops the run. `onError` runs when the loop throws, before the error propagates.
 */
export class Hooks {
  readonly modifyConfig = new SyncWaterfallHook<[KilnConfig]>(['config']);
  readonly beforeRun = new AsyncSeriesHook<[RunInfo]>(['run']);
  readonly beforeEpoch = new AsyncSeriesHook<[EpochInfo]>(['epoch']);
  /** Transforms a batch before the forward pass (augmentation, mixing); return the batch to use. */
  readonly modifyBatch = new SyncWaterfallHook<[Batch, StepInfo]>(['batch', 'step']);
  readonly beforeTrainStep = new AsyncSeriesHook<[StepInfo]>(['step']);
  readonly afterTrainStep = new AsyncSeriesHook<[StepResult]>(['result']);
  readonly beforeValidate = new AsyncSeriesHook<[EpochInfo]>(['epoch']);
  readonly afterValStep = new AsyncSeriesHook<[ValStepInfo]>(['step']);
  readonly afterValidate = new AsyncSeriesHook<[EpochEnd]>(['epoch']);
  readonly afterEpoch = new AsyncSeriesHook<[EpochEnd]>(['epoch']);
  readonly shouldStop = new SyncBailHook<[StopCheck], string | undefined>(['check']);
  readonly afterRun = new AsyncSeriesHook<[RunEnd]>(['run']);
  readonly onError = new AsyncSeriesHook<[unknown]>(['error']);
  readonly onCheckpoint = new AsyncSeriesHook<[CheckpointInfo]>(['checkpoint']);
  readonly onExport = new AsyncSeriesHook<[ExportInfo]>(['info']);
  readonly onTrial = new AsyncSeriesHook<[TrialEvent]>(['trial']);
  /** Lets a plugin rewrite a trial's suggestion before it runs (e.g. clamp a batch size). */
  readonly modifyTrial = new AsyncSeriesWaterfallHook<[TrialSuggestion]>(['suggestion']);
  readonly registerCommands = new SyncHook<[Map<string, Command>]>(['commands']);
}

/** The documented firing order of the training hooks (tests hold the engine to it). */
export const TRAINING_HOOK_ORDER = [
  'beforeRun',
  'beforeEpoch',
  'beforeTrainStep',
  'afterTrainStep',
  'beforeValidate',
  'afterValStep',
  'afterValidate',
  'afterEpoch',
  'afterRun',
] as const;
