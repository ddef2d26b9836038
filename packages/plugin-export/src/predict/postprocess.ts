import type { EncodedText } from './text';

/** An entity of a token classifier: its label (tag type), the text span [start, end) and the mean word score. */
export interface Entity {
  label: string;
  text: string;
  start: number;
  end: number;
  score: number;
}

/** One prediction: the top class and its probabilities for classifiers, entities for token classifiers, the values for regressors. */
export interface Prediction {
  label?: string;
  index?: number;
  scores?: Record<string, number>;
  values?: number[];
  entities?: Entity[];
  /** Token classifiers: the tag of every word (its first sub-word's), with its character span. */
  words?: { text: string; tag: string; score: number; start: number; end: number }[];
}

function softmax(row: ArrayLike<number>, from: number, n: number): number[] {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, row[from + i]);
  const exps = Array.from({ length: n }, (_, i) => Math.exp(row[from + i] - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Logits → softmax probabilities and the top label (classification); raw outputs otherwise. */
export function postprocess(row: Float32Array, task: string, classNames: string[] | undefined, text?: EncodedText): Prediction {
  if (task === 'token-classification' && text && classNames?.length) return tokenPrediction(row, classNames, text);
  if (task !== 'classification') return { values: Array.from(row) };
  const probs = softmax(row, 0, row.length);
  let index = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[index]) index = i;
  const names = classNames ?? Array.from(row, (_, i) => String(i));
  return { label: names[index], index, scores: Object.fromEntries(names.map((n, i) => [n, probs[i]])) };
}

/**
 * Token logits [length × labels] → a tag per word (its first sub-word's, as training labels them)
 * and entities: B-X starts one, I-X continues an X entity (or starts one after O or another type),
 * O ends it; tags without a B-/I- prefix group consecutive words of the same tag. Words are split on
 * whitespace and punctuation, as Hugging Face's BERT pre-tokenizer (and so its token-classification
 * pipeline) splits them: a sub-word continues a word only when it is a `##` piece of it.
 */
export function tokenPrediction(row: Float32Array, classNames: string[], text: EncodedText): Prediction {
  const k = classNames.length;
  const { offsets, wordIds, tokens } = text.encoding;
  const source = text.text.normalize('NFC');
  const continues = (t: number) => t > 0 && wordIds[t] !== null && wordIds[t - 1] === wordIds[t] && (!tokens || tokens[t].startsWith('##'));
  const words: NonNullable<Prediction['words']> = [];
  for (let t = 0; t < wordIds.length; t++) {
    const w = wordIds[t];
    if (w === null || continues(t)) continue;
    // Offsets of the second sequence of a pair are in the pair's text; only the first is tagged.
    if (t > 0 && wordIds[t - 1] !== null && w < wordIds[t - 1]!) break;
    let last = t;
    while (last + 1 < wordIds.length && continues(last + 1)) last++;
    const probs = softmax(row, t * k, k);
    let best = 0;
    for (let i = 1; i < k; i++) if (probs[i] > probs[best]) best = i;
    const [start, end] = [offsets[t][0], offsets[last][1]];
    words.push({ text: source.slice(start, end), tag: classNames[best], score: probs[best], start, end });
  }
  const entities: Entity[] = [];
  let open: { label: string; start: number; end: number; scores: number[] } | undefined;
  const close = () => {
    if (open) entities.push({ label: open.label, text: source.slice(open.start, open.end), start: open.start, end: open.end, score: open.scores.reduce((a, b) => a + b, 0) / open.scores.length });
    open = undefined;
  };
  for (const word of words) {
    if (word.tag === 'O') {
      close();
      continue;
    }
    const m = /^([BIES])-(.+)$/.exec(word.tag);
    const [prefix, label] = m ? [m[1], m[2]] : ['I', word.tag];
    if (prefix === 'B' || prefix === 'S' || !open || open.label !== label) {
      close();
      open = { label, start: word.start, end: word.end, scores: [word.score] };
    } else {
      open.end = word.end;
      open.scores.push(word.score);
    }
    if (prefix === 'E' || prefix === 'S') close();
  }
  close();
  return { entities, words };
}
