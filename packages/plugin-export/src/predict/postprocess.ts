/** One prediction: the top class and its probabilities for classifiers, the values for regressors. */
export interface Prediction {
  label?: string;
  index?: number;
  scores?: Record<string, number>;
  values?: number[];
}

/** Logits → softmax probabilities and the top label (classification); raw outputs otherwise. */
export function postprocess(row: Float32Array, task: string, classNames: string[] | undefined): Prediction {
  if (task !== 'classification') return { values: Array.from(row) };
  const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
  const exps = Array.from(row, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  let index = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[index]) index = i;
  const names = classNames ?? Array.from(row, (_, i) => String(i));
  return { label: names[index], index, scores: Object.fromEntries(names.map((n, i) => [n, exps[i] / sum])) };
}
