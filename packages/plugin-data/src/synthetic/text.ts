import { z } from 'zod';
import { ConfigError, SeededRng } from '@kiln/core';
import type { Dataset, DatasetInfo, Example, Reader, Rng, Split } from '@kiln/core';
import { InMemoryDataset } from '../dataset';
import type { ReaderContext } from '../paths';

export const TOPIC_CLASSES = ['sports', 'tech', 'food', 'travel'] as const;
export const SENTIMENT_CLASSES = ['negative', 'positive'] as const;
export const NER_TAGS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'] as const;

const TOPIC_WORDS: Record<(typeof TOPIC_CLASSES)[number], { nouns: string[]; verbs: string[] }> = {
  sports: { nouns: ['match', 'team', 'goal', 'coach', 'league', 'stadium', 'season', 'player'], verbs: ['won', 'lost', 'scored', 'trained', 'played'] },
  tech: { nouns: ['laptop', 'software', 'chip', 'server', 'app', 'network', 'startup', 'robot'], verbs: ['launched', 'updated', 'crashed', 'shipped', 'hacked'] },
  food: { nouns: ['pizza', 'recipe', 'soup', 'chef', 'bakery', 'dessert', 'menu', 'salad'], verbs: ['cooked', 'tasted', 'baked', 'served', 'ordered'] },
  travel: { nouns: ['flight', 'hotel', 'beach', 'passport', 'museum', 'train', 'island', 'tour'], verbs: ['booked', 'visited', 'explored', 'missed', 'boarded'] },
};
const FILLERS = ['today', 'again', 'finally', 'last week', 'this morning', 'yesterday', 'as expected', 'once more'];
const PEOPLE = ['we', 'they', 'my friend', 'the crowd', 'everyone', 'our group', 'she', 'he'];
const TOPIC_TEMPLATES = [
  '{who} {verb} the {noun} {filler}',
  'the {noun} and the {noun2} {filler}',
  '{filler} {who} talked about the {noun}',
  'news : the {noun} was {verb} {filler}',
  '{who} {verb} a new {noun} near the {noun2}',
];

const POSITIVE = ['great', 'wonderful', 'excellent', 'lovely', 'fantastic', 'pleasant', 'superb'];
const NEGATIVE = ['awful', 'terrible', 'boring', 'disappointing', 'horrible', 'bland', 'poor'];
const ITEMS = ['movie', 'meal', 'service', 'book', 'hotel', 'concert', 'game', 'phone'];
const SENTIMENT_TEMPLATES = [
  'the {item} was {adj}',
  'what a {adj} {item}',
  'i found the {item} {adj} {filler}',
  'honestly the {item} was not {opp}',
  'the {item} felt {adj} and {adj2}',
];

const PER = ['Alice Smith', 'Bob', 'Carlos Diaz', 'Dana', 'Emeka Obi', 'Fatima', 'Grace Hopper', 'Hiro Tanaka', 'Ivan', 'Julia Roberts'];
const LOC = ['Paris', 'New York', 'Lagos', 'Tokyo', 'Buenos Aires', 'Berlin', 'Cape Town', 'Oslo', 'San Diego', 'Mumbai'];
const ORG = ['Acme Corp', 'Globex', 'Initech', 'United Nations', 'Red Cross', 'Umbrella Labs', 'Stark Industries', 'Hooli'];
const NER_TEMPLATES = [
  '{PER} visited {LOC} last year',
  '{PER} works for {ORG} in {LOC}',
  '{ORG} opened an office in {LOC}',
  'yesterday {PER} met {PER} at {ORG}',
  'the mayor of {LOC} praised {ORG}',
  '{PER} said the weather in {LOC} was fine',
  'a report by {ORG} mentions {PER}',
];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(0, items.length - 1)];
}

function fill(template: string, slots: Record<string, () => string>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => slots[key]());
}

/** Template sentences for topic (4 classes) or sentiment (2 classes, with negations) classification. */
export function generateTextClassification(seed: number, n: number, kind: 'topic' | 'sentiment' = 'topic'): { text: string; label: string }[] {
  const rng = new SeededRng(seed).fork(`text-${kind}`);
  const out: { text: string; label: string }[] = [];
  for (let i = 0; i < n; i++) {
    if (kind === 'topic') {
      const label = pick(rng, TOPIC_CLASSES);
      const words = TOPIC_WORDS[label];
      const text = fill(pick(rng, TOPIC_TEMPLATES), {
        who: () => pick(rng, PEOPLE),
        verb: () => pick(rng, words.verbs),
        noun: () => pick(rng, words.nouns),
        noun2: () => pick(rng, words.nouns),
        filler: () => pick(rng, FILLERS),
      });
      out.push({ text, label });
    } else {
      const label = pick(rng, SENTIMENT_CLASSES);
      const same = label === 'positive' ? POSITIVE : NEGATIVE;
      const opposite = label === 'positive' ? NEGATIVE : POSITIVE;
      const text = fill(pick(rng, SENTIMENT_TEMPLATES), {
        item: () => pick(rng, ITEMS),
        adj: () => pick(rng, same),
        adj2: () => pick(rng, same),
        opp: () => pick(rng, opposite),
        filler: () => pick(rng, FILLERS),
      });
      out.push({ text, label });
    }
  }
  return out;
}

/** Template sentences with PER/LOC/ORG entities (multi-word names included) tagged in BIO. */
export function generateNer(seed: number, n: number): { tokens: string[]; tags: string[] }[] {
  const rng = new SeededRng(seed).fork('text-ner');
  const lists: Record<string, readonly string[]> = { PER, LOC, ORG };
  const out: { tokens: string[]; tags: string[] }[] = [];
  for (let i = 0; i < n; i++) {
    const tokens: string[] = [];
    const tags: string[] = [];
    for (const part of pick(rng, NER_TEMPLATES).split(' ')) {
      const slot = /^\{(PER|LOC|ORG)\}$/.exec(part);
      if (!slot) {
        tokens.push(part);
        tags.push('O');
        continue;
      }
      pick(rng, lists[slot[1]]).split(' ').forEach((word, k) => {
        tokens.push(word);
        tags.push(`${k === 0 ? 'B' : 'I'}-${slot[1]}`);
      });
    }
    out.push({ tokens, tags });
  }
  return out;
}

/** Whitespace vocabulary: [PAD] = 0, [UNK] = 1, then tokens by descending count (ties alphabetical). */
export function buildVocabulary(sentences: readonly (readonly string[])[], minCount = 1): string[] {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
  const words = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([w]) => w);
  return ['[PAD]', '[UNK]', ...words];
}

export const SyntheticTextOptions = z.strictObject({
  task: z.enum(['classification', 'ner']).default('classification').describe('Sentence classification or token classification (BIO tags)'),
  kind: z.enum(['topic', 'sentiment']).default('topic').describe('For classification: 4 topics or 2 sentiments'),
  trainSize: z.number().int().min(1).default(2000).describe('Training sentences'),
  valSize: z.number().int().min(0).default(400).describe('Validation sentences'),
  maxLength: z.number().int().min(2).default(24).describe('Tokens per example; longer sentences are truncated, shorter padded'),
  lowercase: z.boolean().default(true).describe('Lowercase tokens before looking them up'),
  minCount: z.number().int().min(1).default(1).describe('Training occurrences a token needs to enter the vocabulary'),
});
export type SyntheticTextOptions = z.output<typeof SyntheticTextOptions>;

/** Template text as token ids (`tokens`, `mask` int32 [maxLength]) over a train-split whitespace vocabulary. */
export class SyntheticTextReader implements Reader {
  readonly splits: readonly Split[];
  private prepared?: Map<Split, Dataset>;

  constructor(
    private readonly options: SyntheticTextOptions,
    private readonly context: Pick<ReaderContext, 'seed'>,
  ) {
    this.splits = options.valSize > 0 ? ['train', 'val'] : ['train'];
  }

  async load(split: Split): Promise<Dataset> {
    this.prepared ??= this.prepare();
    const dataset = this.prepared.get(split);
    if (!dataset) throw new ConfigError(`synthetic-text has no '${split}' split`, { where: 'data', hint: 'set data.valSize > 0 for a val split' });
    return dataset;
  }

  private prepare(): Map<Split, Dataset> {
    const { options } = this;
    const L = options.maxLength;
    const norm = (t: string) => (options.lowercase ? t.toLowerCase() : t);
    const total = options.trainSize + options.valSize;
    // One generated stream, cut in two, so val sentences are distinct draws from the same templates.
    const rows: { tokens: string[]; target: number | Int32Array }[] =
      options.task === 'ner'
        ? generateNer(this.context.seed, total).map((s) => {
            const target = new Int32Array(L);
            s.tags.slice(0, L).forEach((tag, i) => (target[i] = NER_TAGS.indexOf(tag as (typeof NER_TAGS)[number])));
            return { tokens: s.tokens.map(norm), target };
          })
        : generateTextClassification(this.context.seed, total, options.kind).map((s) => ({
            tokens: s.text.split(/\s+/).map(norm),
            target: (options.kind === 'topic' ? (TOPIC_CLASSES as readonly string[]) : (SENTIMENT_CLASSES as readonly string[])).indexOf(s.label),
          }));
    const train = rows.slice(0, options.trainSize);
    const vocab = buildVocabulary(train.map((r) => r.tokens), options.minCount);
    const ids = new Map(vocab.map((w, i) => [w, i]));
    const ner = options.task === 'ner';
    const info: DatasetInfo = {
      task: ner ? 'token-classification' : 'classification',
      inputs: [
        { name: 'tokens', shape: [L], dtype: 'int32' },
        { name: 'mask', shape: [L], dtype: 'int32' },
      ],
      targetShape: ner ? [L] : [],
      targetDtype: 'int32',
      classNames: ner ? [...NER_TAGS] : options.kind === 'topic' ? [...TOPIC_CLASSES] : [...SENTIMENT_CLASSES],
      extra: { vocabulary: vocab, maxLength: L, lowercase: options.lowercase, padId: 0, unkId: 1 },
    };
    const encode = (row: (typeof rows)[number], i: number, split: Split): Example => {
      const tokens = new Int32Array(L);
      const mask = new Int32Array(L);
      row.tokens.slice(0, L).forEach((t, k) => {
        tokens[k] = ids.get(t) ?? 1;
        mask[k] = 1;
      });
      return { inputs: { tokens, mask }, target: row.target, source: `synthetic-text:${split}:${i}` };
    };
    const out = new Map<Split, Dataset>();
    out.set('train', new InMemoryDataset(info, train.map((r, i) => encode(r, i, 'train'))));
    if (options.valSize > 0) out.set('val', new InMemoryDataset(info, rows.slice(options.trainSize).map((r, i) => encode(r, i, 'val'))));
    return out;
  }
}
