import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { UsageError } from '@kiln/core';
import type { EpochListener, TrialExecutor, TrialJob, TrialOutcome } from './executor';

/** Messages between the study and a trial worker (see worker.ts). */
export type WorkerMessage =
  | { type: 'epoch'; epoch: number; value: number; logs: Record<string, number> }
  | { type: 'done'; outcome: TrialOutcome };
export type StudyMessage = { type: 'job'; job: TrialJob } | { type: 'decision'; decision: 'continue' | 'prune' };

/** The compiled worker script beside this file (dist/worker.js), or the one in dist when run from sources. */
export function workerScript(): string {
  const candidates = [path.join(__dirname, '..', 'worker.js'), path.join(__dirname, '..', '..', 'dist', 'worker.js')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new UsageError('the tuner worker script is not built', { where: '--workers', hint: 'run npx tsc -b packages/plugin-tuners (or npm run build)' });
  return found;
}

/**
 * Up to `slots` trials at once, each in a child process (`node dist/worker.js`) that trains
 * through core's API and talks to the study over IPC: an epoch report goes up, the prune
 * decision comes back, so pruning works across processes too.
 */
export class ProcessExecutor implements TrialExecutor {
  readonly name = 'processes';
  private readonly children = new Set<ChildProcess>();
  constructor(readonly slots: number, private readonly script = workerScript(), private readonly env: NodeJS.ProcessEnv = process.env) {}

  run(job: TrialJob, onEpoch: EpochListener): Promise<TrialOutcome> {
    return new Promise((resolve) => {
      const child = fork(this.script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: this.env });
      this.children.add(child);
      let settled = false;
      const finish = (outcome: TrialOutcome) => {
        if (settled) return;
        settled = true;
        this.children.delete(child);
        resolve(outcome);
      };
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'epoch') {
          Promise.resolve(onEpoch({ epoch: message.epoch, value: message.value, logs: message.logs })).then(
            (decision) => child.connected && child.send({ type: 'decision', decision } satisfies StudyMessage),
            () => child.connected && child.send({ type: 'decision', decision: 'continue' } satisfies StudyMessage),
          );
        } else if (message.type === 'done') {
          finish(message.outcome);
          child.disconnect();
        }
      });
      child.on('exit', (code, signal) => finish({ status: 'failed', error: `trial worker exited (${signal ?? `code ${code}`})`, runDir: job.runDir }));
      child.on('error', (error) => finish({ status: 'failed', error: error.message, runDir: job.runDir }));
      child.send({ type: 'job', job } satisfies StudyMessage);
    });
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill();
    this.children.clear();
  }
}
