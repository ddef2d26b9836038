import { Reader } from './reader';
import { Sampler } from './sampler';
import { Model } from './model';
import { Loss } from './loss';
import { Optimizer, Schedule } from './optimizer';
import { Metric } from './metric';
import { Callback } from './callback';
import { Tracker } from './tracker';
import { Tuner } from './tuner';
import { Exporter } from './exporter';
import { Backend } from './backend';
import { Command } from './command';

export * from './data';
export * from './reader';
export * from './sampler';
export * from './model';
export * from './loss';
export * from './optimizer';
export * from './metric';
export * from './callback';
export * from './tracker';
export * from './tuner';
export * from './exporter';
export * from './backend';
export * from './command';

/** Every extension point, by token. */
export const Tokens = {
  Reader,
  Sampler,
  Model,
  Loss,
  Optimizer,
  Schedule,
  Metric,
  Callback,
  Tracker,
  Tuner,
  Exporter,
  Backend,
  Command,
} as const;

/** The interface each point's factories must return. */
export interface PointTypes {
  [Reader]: Reader;
  [Sampler]: Sampler;
  [Model]: Model;
  [Loss]: Loss;
  [Optimizer]: Optimizer;
  [Schedule]: Schedule;
  [Metric]: Metric;
  [Callback]: Callback;
  [Tracker]: Tracker;
  [Tuner]: Tuner;
  [Exporter]: Exporter;
  [Backend]: Backend;
  [Command]: Command;
}
export type PointToken = keyof PointTypes;

/** Human name of a point token (`Model`), for messages and `kiln plugins`. */
export function pointName(token: symbol): string {
  return (token.description ?? String(token)).replace(/^kiln\.point\./, '');
}

/** Config key that selects each point, for error messages (`model.type`). */
export const POINT_CONFIG_KEYS: Partial<Record<PointToken, string>> = {
  [Reader]: 'data',
  [Sampler]: 'sampler',
  [Model]: 'model',
  [Loss]: 'loss',
  [Optimizer]: 'optimizer',
  [Schedule]: 'optimizer.schedule',
  [Metric]: 'metrics[]',
  [Callback]: 'callbacks[]',
  [Tracker]: 'tracker',
  [Exporter]: 'exporter',
  [Backend]: 'backend',
};
