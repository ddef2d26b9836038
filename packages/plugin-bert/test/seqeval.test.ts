import * as tf from '@tensorflow/tfjs-core';
import { SeqevalMetric, seqevalScores, strictIob2Entities } from '../src';

describe('seqeval, strict IOB2', () => {
  it('extracts entities only from B- starts, running over I- of the same type', () => {
    expect(strictIob2Entities(['B-PER', 'I-PER', 'O', 'B-LOC'])).toEqual([
      { type: 'PER', start: 0, end: 2 },
      { type: 'LOC', start: 3, end: 4 },
    ]);
    // An I- after O (an invalid start) is no entity in strict mode.
    expect(strictIob2Entities(['O', 'I-PER', 'I-PER', 'B-LOC'])).toEqual([{ type: 'LOC', start: 3, end: 4 }]);
    // A type change ends the entity; the stray I-LOC starts nothing.
    expect(strictIob2Entities(['B-PER', 'I-LOC', 'I-LOC'])).toEqual([{ type: 'PER', start: 0, end: 1 }]);
    // Adjacent B-s are two entities.
    expect(strictIob2Entities(['B-PER', 'B-PER', 'I-PER'])).toEqual([
      { type: 'PER', start: 0, end: 1 },
      { type: 'PER', start: 1, end: 3 },
    ]);
  });

  it('scores micro precision/recall/F1 over sentences on exact (type, span) matches', () => {
    const gold = [
      ['B-PER', 'I-PER', 'O', 'B-LOC'],
      ['B-PER', 'I-PER', 'O', 'B-LOC'],
      ['B-ORG', 'I-ORG', 'I-ORG'],
    ];
    const pred = [
      ['B-PER', 'I-PER', 'O', 'B-LOC'], // 2 of 2
      ['I-PER', 'I-PER', 'O', 'B-LOC'], // invalid start: only LOC predicted
      ['B-ORG', 'I-ORG', 'O'], // wrong boundary: no match
    ];
    // tp = 2 + 1 + 0 = 3; predicted = 2 + 1 + 1 = 4; true = 2 + 2 + 1 = 5.
    const s = seqevalScores(gold, pred);
    expect(s.precision).toBeCloseTo(3 / 4, 12);
    expect(s.recall).toBeCloseTo(3 / 5, 12);
    expect(s.f1).toBeCloseTo((2 * 0.75 * 0.6) / (0.75 + 0.6), 12);
    expect(s.perType.PER).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2 });
    expect(s.perType.LOC).toEqual({ precision: 1, recall: 1, f1: 1, support: 2 });
    expect(s.perType.ORG).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(seqevalScores([['O', 'O']], [['O', 'O']])).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('as a metric, reads tags per word from logits and skips -100 positions', () => {
    const metric = new SeqevalMetric({}, ['O', 'B-PER', 'I-PER']);
    // Position 2 is a later sub-word (-100): its wrong prediction must not split the entity.
    const targets = tf.tensor2d([[-100, 1, -100, 2, 0, -100], [-100, 1, 0, 0, -100, -100]], [2, 6], 'int32');
    const argmax = [[0, 1, 0, 2, 0, 0], [0, 0, 2, 0, 0, 0]];
    const logits = tf.oneHot(tf.tensor2d(argmax, [2, 6], 'int32'), 3);
    metric.update(logits, targets);
    // Sentence 1: gold PER[0,2) predicted exactly. Sentence 2: gold PER[0,1), predicted O, I-PER (invalid start): nothing.
    expect(metric.result()).toEqual({ 'seqeval/precision': 1, 'seqeval/recall': 0.5, 'seqeval/f1': 2 / 3 });
    metric.reset();
    expect(metric.result()['seqeval/f1']).toBe(0);
    tf.dispose([targets, logits]);
  });
});
