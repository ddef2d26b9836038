import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alignLabels, buildWordPieceVocabulary, IGNORE_INDEX, WordPieceTokenizer } from '../src';

// A small vocabulary; the expected ids below follow from BertTokenizer's definition by hand.
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cafe', 'naive', 'un', '##aff', '##able', '##ly', '!', ',', '.', "'", 's', 'hello', 'world', '直', '##s', 'a', '##a'];
const id = (t: string) => VOCAB.indexOf(t);
const tok = new WordPieceTokenizer(VOCAB);
const ids = (text: string) => tok.encode(text).ids;

describe('WordPiece tokenizer (BertTokenizer semantics)', () => {
  it('lower-cases, strips accents and splits punctuation', () => {
    expect(ids('Héllo, WORLD!')).toEqual([2, id('hello'), id(','), id('world'), id('!'), 3]);
    expect(ids('Café NAÏVE')).toEqual([2, id('cafe'), id('naive'), 3]);
    expect(tok.tokenize("world's")).toEqual(['world', "'", 's']);
    expect(tok.tokenize('hello...world')).toEqual(['hello', '.', '.', '.', 'world']);
    // A combining accent typed separately (e + U+0301) is stripped the same way.
    expect(tok.tokenize('cafe\u0301')).toEqual(['cafe']);
  });

  it('segments greedily longest-first with ## continuations; a word with no segmentation is [UNK]', () => {
    expect(tok.tokenize('unaffable')).toEqual(['un', '##aff', '##able']);
    // un + ##aff + ##a, then "bly" has no piece: the whole word becomes [UNK].
    expect(tok.tokenize('unaffably')).toEqual(['[UNK]']);
    expect(ids('zzz hello')).toEqual([2, id('[UNK]'), id('hello'), 3]);
  });

  it('maps words over 100 characters to [UNK], and splits one of exactly 100', () => {
    expect(tok.tokenize('a'.repeat(101))).toEqual(['[UNK]']);
    const hundred = tok.encode('a'.repeat(100)).ids;
    expect(hundred).toEqual([2, id('a'), ...new Array(99).fill(id('##a')), 3]);
  });

  it('isolates CJK ideographs, drops control characters and treats Unicode spaces as whitespace', () => {
    expect(tok.tokenize('hello直world')).toEqual(['hello', '直', 'world']);
    expect(tok.tokenize('hello\u0000\tworld\u00a0the\u200b')).toEqual(['hello', 'world', 'the']);
    expect(tok.tokenize('[CLS] hello [SEP]')).toEqual(['[CLS]', 'hello', '[SEP]']);
  });

  it('keeps case without lower-casing (cased vocabularies)', () => {
    const cased = new WordPieceTokenizer(VOCAB, { lowercase: false });
    expect(cased.tokenize('Hello hello')).toEqual(['[UNK]', 'hello']);
    expect(cased.tokenize('café')).toEqual(['[UNK]']);
  });

  it('encodes pairs with token types, truncating the longest first and padding to maxLength', () => {
    const enc = tok.encode('hello world the', 'cafe naive', { maxLength: 7 });
    expect(enc.tokens).toEqual(['[CLS]', 'hello', 'world', '[SEP]', 'cafe', 'naive', '[SEP]']);
    expect(enc.typeIds).toEqual([0, 0, 0, 0, 1, 1, 1]);
    const padded = tok.encode('hello', 'cafe', { maxLength: 8 });
    expect(padded.ids).toEqual([2, id('hello'), 3, id('cafe'), 3, 0, 0, 0]);
    expect(padded.attentionMask).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    expect(padded.typeIds).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
    expect(padded.specialTokensMask).toEqual([1, 0, 1, 0, 1, 1, 1, 1]);
    // Equal lengths: the second sequence loses a token first (transformers' longest_first).
    expect(tok.encode('hello world', 'cafe naive', { maxLength: 6 }).tokens).toEqual(['[CLS]', 'hello', 'world', '[SEP]', 'cafe', '[SEP]']);
  });

  it('gives character offsets and word ids for label alignment', () => {
    const enc = tok.encode('Héllo, WORLD!');
    expect(enc.offsets).toEqual([[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [0, 0]]);
    expect(enc.wordIds).toEqual([null, 0, 0, 1, 1, null]);
    const words = tok.encodeWords(['unaffable', 'World'], undefined, { maxLength: 8 });
    expect(words.tokens).toEqual(['[CLS]', 'un', '##aff', '##able', 'world', '[SEP]', '[PAD]', '[PAD]']);
    expect(words.wordIds).toEqual([null, 0, 0, 0, 1, null, null, null]);
    expect(words.offsets.slice(1, 5)).toEqual([[0, 2], [2, 5], [5, 9], [10, 15]]);
    // First sub-word of each word labelled, the rest ignored (-100).
    expect(Array.from(alignLabels(words.wordIds, [5, 6]))).toEqual([IGNORE_INDEX, 5, IGNORE_INDEX, IGNORE_INDEX, 6, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
  });

  it('reads vocab.txt and the WordPiece model of a tokenizer.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bert-tok-'));
    try {
      fs.writeFileSync(path.join(dir, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
      expect(WordPieceTokenizer.fromFile(dir).encode('Hello!').ids).toEqual([2, id('hello'), id('!'), 3]);
      // A cased checkpoint says do_lower_case: false in tokenizer_config.json beside vocab.txt.
      fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
      expect(WordPieceTokenizer.fromFile(dir).tokenize('Hello hello')).toEqual(['[UNK]', 'hello']);
      fs.rmSync(path.join(dir, 'tokenizer_config.json'));
      const json = {
        normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) },
      };
      const file = path.join(dir, 'tokenizer.json');
      fs.writeFileSync(file, JSON.stringify(json));
      const fromJson = WordPieceTokenizer.fromFile(file);
      expect(fromJson.options.lowercase).toBe(false);
      expect(fromJson.tokenize('Hello hello')).toEqual(['[UNK]', 'hello']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds a corpus vocabulary that tokenizes its corpus without [UNK]', () => {
    const corpus = ['Alice visited Paris.', 'Bob visited Tokyo, again!'];
    const vocab = buildWordPieceVocabulary(corpus);
    expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    // Words after the characters: most frequent first, ties alphabetical.
    expect(vocab.slice(-6)).toEqual(['visited', 'again', 'alice', 'bob', 'paris', 'tokyo']);
    const t = new WordPieceTokenizer(vocab);
    for (const text of corpus) expect(t.tokenize(text)).not.toContain('[UNK]');
    expect(t.tokenize('Alicia')).toEqual(['a', '##l', '##i', '##c', '##i', '##a']);
  });
});

describe('agreement with tokenizers.js (Hugging Face’s BertNormalizer + BertPreTokenizer + WordPiece)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: new (json: object, config: object) => { encode(text: string, o?: { text_pair?: string; return_token_type_ids?: boolean }): { ids: number[]; token_type_ids?: number[] } } };
  const tokenizerJson = (vocab: string[], lowercase: boolean) => ({
    version: '1.0',
    added_tokens: vocab.slice(0, 5).map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  });
  const corpus = ['Der Straßenbahn-Fahrer sagte: „Grüß Gott!“', 'Él comió paella en València, ¿verdad?', '東京タワーは高い。北京欢迎你', 'naïve café résumé — coöperate…', "It's 3.14, isn't it?! (yes) [no] {maybe}", 'emoji 😀 rocks 🚀 x²'];
  const probes = [...corpus, 'Straßenbahn GRÜSS café', 'comió valència résumé', '京都 北京 タワー', "isn't 3.14159 (maybe)", 'x²² 😀😀', 'a\u0301b c\u200dd e\u00a0f', 'unseen words here', 'Ⅻ ﬁ ①'];

  it.each([true, false])('gives the same ids on accented, CJK, punctuation, emoji and unknown text (lowercase %s)', (lowercase) => {
    const vocab = buildWordPieceVocabulary(corpus, { lowercase });
    const reference = new Tokenizer(tokenizerJson(vocab, lowercase), { tokenizer_class: 'BertTokenizer', do_lower_case: lowercase });
    const ours = new WordPieceTokenizer(vocab, { lowercase });
    for (const text of probes) expect([text, ours.encode(text).ids]).toEqual([text, reference.encode(text).ids]);
    const pair = reference.encode(probes[0], { text_pair: probes[1], return_token_type_ids: true });
    const mine = ours.encode(probes[0], probes[1]);
    expect(mine.ids).toEqual(pair.ids);
    expect(mine.typeIds).toEqual(pair.token_type_ids);
  });
});
