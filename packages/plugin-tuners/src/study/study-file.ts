import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, writeFileAtomic, type TrialSuggestion } from '@kiln/core';
import type { SpaceSpec } from '../space/schema';

export type TrialStatus = 'running' | 'completed' | 'pruned' | 'failed';

export interface TrialRecord extends TrialSuggestion {
  status: TrialStatus;
  /** Objective at the trial's last reported epoch. */
  value?: number;
  /** Every epoch the trial ran: the objective and all logged metrics. */
  epochs: { epoch: number; value: number; metrics: Record<string, number> }[];
  runDir: string;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  error?: string;
  /** Times the trial was started (> 1 when an interrupted study re-ran it, or a worker died and another took it over). */
  attempts: number;
  /** The trial's nested run in the tracker. */
  trackerRunId?: string;
}

export interface StudyData {
  format: 'kiln-study/1';
  name: string;
  /** Unique per study: names its queue jobs (`<id>.<trial>`), so a restarted coordinator finds them. */
  id?: string;
  /** The study's run in the tracker (the trials' parent). */
  trackerRunId?: string;
  objective: string;
  mode: 'min' | 'max';
  tuner: Record<string, unknown>;
  pruner?: unknown;
  space: SpaceSpec;
  status: 'running' | 'completed' | 'failed';
  createdAt: string;
  updatedAt: string;
  /** The tuner's state after the last event (ask, report, tell), for --resume. */
  tunerState: unknown;
  trials: TrialRecord[];
  best?: { trial: string; value: number; params: Record<string, unknown>; runDir: string; checkpoint?: string };
}

/** `<output.dir>/<study>/study.json`, rewritten atomically after every event. */
export class StudyFile {
  constructor(readonly file: string, public data: StudyData) {}

  static pathOf(studyDir: string): string {
    return path.join(studyDir, 'study.json');
  }

  static load(studyDir: string): StudyFile {
    const file = StudyFile.pathOf(studyDir);
    if (!fs.existsSync(file)) throw new UsageError(`no study to resume at ${file}`, { where: '--resume', hint: 'start the study without --resume, or pass the same tune.study name' });
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as StudyData;
    if (data.format !== 'kiln-study/1') throw new UsageError(`${file} is not a Kiln study file`, { where: file });
    return new StudyFile(file, data);
  }

  save(): void {
    this.data.updatedAt = new Date().toISOString();
    writeFileAtomic(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
  }

  trial(id: string): TrialRecord | undefined {
    return this.data.trials.find((t) => t.id === id);
  }
}
