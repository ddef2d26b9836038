import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError, type KilnError } from '@kiln/core';
import { BertSyntheticTextReader, BertSyntheticTextOptions, ConllReader, ConllReaderOptions, iob1ToIob2, parseConll, TextClassificationReader, TextClassificationReaderOptions, WordPieceTokenizer } from '../src';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bert-data-'));
  dirs.push(dir);
  return dir;
};

const CONLL = `-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

`;

function errorOf(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    return e as KilnError;
  }
  throw new Error('expected an error');
}

describe('CoNLL-2003 reader', () => {
  it('splits sentences on blank lines, skips -DOCSTART-, takes the tag from the last column', () => {
    expect(parseConll(CONLL, 'eng.train')).toEqual([
      { words: ['EU', 'rejects', 'German', 'call', '.'], tags: ['B-ORG', 'O', 'B-MISC', 'O', 'O'], source: 'eng.train:3' },
      { words: ['Peter', 'Blackburn'], tags: ['B-PER', 'I-PER'], source: 'eng.train:9' },
    ]);
  });

  it('names file:line of a malformed line', () => {
    const short = errorOf(() => parseConll('EU NNP B-NP B-ORG\nrejects\n', 'x.conll'));
    expect(short).toBeInstanceOf(DataError);
    expect(short.where).toBe('x.conll:2');
    const columns = errorOf(() => parseConll('EU NNP B-NP B-ORG\n\nPeter B-PER\n', 'x.conll'));
    expect(columns.where).toBe('x.conll:3');
    expect(columns.message).toMatch(/2 columns where earlier lines have 4/);
    const tag = errorOf(() => parseConll('EU NNP B-NP ORG\n', 'x.conll'));
    expect(tag.where).toBe('x.conll:1');
    expect(tag.message).toMatch(/'ORG' is not an IOB tag/);
  });

  it('converts IOB1 to IOB2', () => {
    expect(iob1ToIob2(['I-PER', 'I-PER', 'O', 'I-LOC', 'B-LOC', 'I-ORG'])).toEqual(['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC', 'B-ORG']);
  });

  it('labels the first sub-word of each word and ignores the rest', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'train.txt'), CONLL);
    fs.writeFileSync(path.join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'eu', 'rejects', 'german', 'call', '.', 'peter', 'black', '##burn'].join('\n'));
    const reader = new ConllReader(ConllReaderOptions.parse({ train: 'train.txt', vocab: 'vocab.txt', maxLength: 8 }), { baseDir: dir, seed: 1 });
    const train = await reader.load('train');
    expect(train.info.classNames).toEqual(['O', 'B-MISC', 'B-ORG', 'B-PER', 'I-PER']);
    const ex = train.get(1);
    expect(Array.from(ex.inputs.input_ids)).toEqual([2, 10, 11, 12, 3, 0, 0, 0]);
    expect(Array.from(ex.target as Int32Array)).toEqual([-100, 3, 4, -100, -100, -100, -100, -100]);
    // One sub-word per word here: every word labelled, [CLS]/[SEP]/padding ignored.
    expect(Array.from(train.get(0).target as Int32Array)).toEqual([-100, 2, 0, 1, 0, 0, -100, -100]);
  });
});

describe('text classification reader', () => {
  it('reads CSV with quoted fields and JSONL pairs; labels sorted; vocabulary from the training texts', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'train.csv'), 'text,label\n"Great, really great",pos\nawful film,neg\n');
    fs.writeFileSync(path.join(dir, 'val.csv'), 'text,label\ngreat film,pos\n');
    const reader = new TextClassificationReader(TextClassificationReaderOptions.parse({ train: 'train.csv', val: 'val.csv', maxLength: 8 }), { baseDir: dir, seed: 1 });
    const train = await reader.load('train');
    expect(train.info.classNames).toEqual(['neg', 'pos']);
    expect(train.get(0).target).toBe(1);
    expect(train.get(0).source).toBe(`${path.join(dir, 'train.csv')}:2`);
    const vocab = (train.info.extra as { vocabulary: string[] }).vocabulary;
    const t = new WordPieceTokenizer(vocab);
    expect(Array.from(train.get(0).inputs.input_ids)).toEqual(t.encode('Great, really great', undefined, { maxLength: 8 }).ids);
    expect(t.tokenize('Great, really great')).toEqual(['great', ',', 'really', 'great']);
    const val = await reader.load('val');
    expect(Array.from(val.get(0).inputs.attention_mask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);

    fs.writeFileSync(path.join(dir, 'pairs.jsonl'), '{"premise": "a cat", "hypothesis": "an animal", "label": "entailment"}\n\n{"premise": "a cat", "hypothesis": "a dog", "label": "contradiction"}\n');
    const pairs = await new TextClassificationReader(
      TextClassificationReaderOptions.parse({ train: 'pairs.jsonl', textField: 'premise', textPairField: 'hypothesis', maxLength: 8 }),
      { baseDir: dir, seed: 1 },
    ).load('train');
    expect(Array.from(pairs.get(0).inputs.token_type_ids)).toEqual([0, 0, 0, 0, 1, 1, 1, 0]);
    expect(pairs.get(1).source).toBe(`${path.join(dir, 'pairs.jsonl')}:3`);
  });

  it('names file:line of a bad JSON line or an unknown label', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'bad.jsonl'), '{"text": "ok", "label": "a"}\n{"text": oops}\n');
    const bad = await new TextClassificationReader(TextClassificationReaderOptions.parse({ train: 'bad.jsonl' }), { baseDir: dir, seed: 1 }).load('train').catch((e: KilnError) => e);
    expect(bad).toBeInstanceOf(DataError);
    expect((bad as KilnError).where).toBe(`${path.join(dir, 'bad.jsonl')}:2`);
    fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"text": "ok", "label": "a"}\n');
    fs.writeFileSync(path.join(dir, 'val.jsonl'), '{"text": "ok", "label": "a"}\n{"text": "no", "label": "b"}\n');
    const unknown = await new TextClassificationReader(TextClassificationReaderOptions.parse({ train: 'train.jsonl', val: 'val.jsonl' }), { baseDir: dir, seed: 1 }).load('train').catch((e: KilnError) => e);
    expect((unknown as KilnError).where).toBe(`${path.join(dir, 'val.jsonl')}:2`);
    expect((unknown as KilnError).message).toMatch(/label 'b' is not one of the classes \[a\]/);
  });
});

describe('synthetic text for BERT', () => {
  it('tokenizes the template NER sentences with tags on first sub-words', async () => {
    const reader = new BertSyntheticTextReader(BertSyntheticTextOptions.parse({ task: 'ner', trainSize: 20, valSize: 5 }), { baseDir: '.', seed: 3 });
    const train = await reader.load('train');
    expect(train.info.task).toBe('token-classification');
    expect(train.info.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    const ex = train.get(0);
    const target = Array.from(ex.target as Int32Array);
    const mask = Array.from(ex.inputs.attention_mask);
    // [CLS] and padding are ignored; every real token of a whole-word vocabulary is a first sub-word.
    expect(target[0]).toBe(-100);
    target.forEach((t, k) => expect(t >= 0).toBe(k > 0 && mask[k] === 1 && k < mask.lastIndexOf(1)));
    expect((await reader.load('val')).size).toBe(5);
  });
});
