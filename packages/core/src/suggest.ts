import { distance } from 'fastest-levenshtein';

/** The closest candidate to `input`, if it is close enough to be a plausible typo. */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** "did you mean 'x'? Known: a, b, c" */
export function knownNamesHint(input: string, known: Iterable<string>): string {
  const names = [...known].sort();
  const guess = didYouMean(input, names);
  const list = names.length ? `known: ${names.join(', ')}` : 'none are registered';
  return guess ? `did you mean '${guess}'? (${list})` : list;
}
