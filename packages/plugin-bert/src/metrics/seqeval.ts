import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ConfigError, type Metric } from '@kiln/core';

/** One entity: type and token span [start, end). */
export interface Entity {
  type: string;
  start: number;
  end: number;
}

function split(tag: string): { prefix: 'B' | 'I' | 'O'; type: string } {
  const m = /^([BI])-(.+)$/.exec(tag);
  return m ? { prefix: m[1] as 'B' | 'I', type: m[2] } : { prefix: 'O', type: '' };
}

/**
 * Entities of an IOB2 tag sequence with seqeval's strict semantics (mode='strict',
 * scheme=IOB2): an entity starts only at B-X and runs over the I-X that follow; an I-
 * that does not continue an entity of its type (after O, or after another type) starts
 * nothing and is dropped.
 */
export function strictIob2Entities(tags: readonly string[]): Entity[] {
  const out: Entity[] = [];
  let i = 0;
  while (i < tags.length) {
    const t = split(tags[i]);
    if (t.prefix !== 'B') {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < tags.length) {
      const next = split(tags[end]);
      if (next.prefix !== 'I' || next.type !== t.type) break;
      end++;
    }
    out.push({ type: t.type, start: i, end });
    i = end;
  }
  return out;
}

export interface SeqevalScores {
  precision: number;
  recall: number;
  f1: number;
  /** Per entity type: precision, recall, f1 and the number of true entities (support). */
  perType: Record<string, { precision: number; recall: number; f1: number; support: number }>;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/** Micro-averaged entity-level precision/recall/F1 over sentences, as seqeval's classification_report (strict IOB2). */
export function seqevalScores(trueSequences: readonly (readonly string[])[], predSequences: readonly (readonly string[])[]): SeqevalScores {
  const counts = new Map<string, { tp: number; pred: number; true: number }>();
  const bump = (type: string) => {
    let c = counts.get(type);
    if (!c) counts.set(type, (c = { tp: 0, pred: 0, true: 0 }));
    return c;
  };
  trueSequences.forEach((gold, s) => {
    const key = (e: Entity) => `${e.type}\0${e.start}\0${e.end}`;
    const goldEntities = strictIob2Entities(gold);
    const predEntities = strictIob2Entities(predSequences[s]);
    const goldKeys = new Set(goldEntities.map(key));
    for (const e of goldEntities) bump(e.type).true++;
    for (const e of predEntities) {
      const c = bump(e.type);
      c.pred++;
      if (goldKeys.has(key(e))) c.tp++;
    }
  });
  let tp = 0;
  let pred = 0;
  let truth = 0;
  const perType: SeqevalScores['perType'] = {};
  for (const [type, c] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    tp += c.tp;
    pred += c.pred;
    truth += c.true;
    const p = ratio(c.tp, c.pred);
    const r = ratio(c.tp, c.true);
    perType[type] = { precision: p, recall: r, f1: f1Of(p, r), support: c.true };
  }
  const precision = ratio(tp, pred);
  const recall = ratio(tp, truth);
  return { precision, recall, f1: f1Of(precision, recall), perType };
}

export const SeqevalOptions = z.strictObject({
  labels: z.array(z.string()).min(1).optional().describe("Tag names by class index (IOB2: O, B-X, I-X); default: the dataset's class names"),
});
export type SeqevalOptions = z.output<typeof SeqevalOptions>;

/**
 * Entity-level precision, recall and F1 (seqeval, mode='strict', IOB2) from token logits
 * [batch, length, tags] and tag targets [batch, length]; tokens whose target is negative
 * (-100: specials, padding, later sub-words) are left out, so sequences are per word.
 */
export class SeqevalMetric implements Metric<tf.Tensor, tf.Tensor> {
  readonly name = 'seqeval';
  private readonly labels: string[];
  private gold: string[][] = [];
  private pred: string[][] = [];

  constructor(options: SeqevalOptions = {}, classNames?: string[]) {
    const labels = options.labels ?? classNames;
    if (!labels) throw new ConfigError('seqeval needs the tag names', { where: 'metrics', hint: 'use a token-classification reader (its class names are the tags) or set labels' });
    this.labels = labels;
  }

  update(predictions: tf.Tensor, targets: tf.Tensor): void {
    const [B, L] = targets.shape;
    const argmax = tf.tidy(() => tf.argMax(predictions, -1));
    const p = argmax.dataSync();
    argmax.dispose();
    const t = targets.dataSync();
    for (let b = 0; b < B; b++) {
      const gold: string[] = [];
      const pred: string[] = [];
      for (let k = 0; k < L; k++) {
        const target = t[b * L + k];
        if (target < 0) continue;
        gold.push(this.labels[target] ?? 'O');
        pred.push(this.labels[p[b * L + k]] ?? 'O');
      }
      this.gold.push(gold);
      this.pred.push(pred);
    }
  }

  result(): Record<string, number> {
    const s = seqevalScores(this.gold, this.pred);
    return { 'seqeval/precision': s.precision, 'seqeval/recall': s.recall, 'seqeval/f1': s.f1 };
  }

  details(): SeqevalScores {
    return seqevalScores(this.gold, this.pred);
  }

  reset(): void {
    this.gold = [];
    this.pred = [];
  }
}
