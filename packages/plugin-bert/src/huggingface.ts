import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, readSafetensors, writeFileAtomic, writeSafetensors, type StoredTensor } from '@kiln/core';
import type { BertModel } from './bert-model';
import { bertConfigFromJson, HF_ARCHITECTURE, sameShape, type BertConfig } from './config';

/** What a partial load left out, as Hugging Face's `from_pretrained` reports it. */
export interface LoadReport {
  /** Weights of the model that the checkpoint did not have (left at their initialization). */
  missingKeys: string[];
  /** Tensors of the checkpoint the model has no place for (ignored). */
  unexpectedKeys: string[];
  /** The report as Hugging Face words it, one paragraph per list; empty when both lists are. */
  messages: string[];
}

/** Python's repr of a list of strings, as transformers prints key lists. */
const pyList = (names: string[]) => `[${names.map((n) => `'${n}'`).join(', ')}]`;

/** Reads `<dir>/config.json` (Hugging Face format). */
export function readHuggingFaceConfig(dir: string): { config: BertConfig; json: Record<string, unknown> } {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) {
    throw new ConfigError(`no config.json in ${dir}`, {
      where: file,
      hint: 'place a Hugging Face BERT directory there (config.json, model.safetensors, vocab.txt), e.g. from `huggingface-cli download google/bert_uncased_L-2_H-128_A-2 --local-dir <dir>`',
    });
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError(`config.json is not valid JSON: ${(error as Error).message}`, { where: file, hint: 'restore the file from the original checkpoint' });
  }
  return { config: bertConfigFromJson(json, file), json };
}

/** Label names from a config.json's id2label, in id order. */
export function labelsFromConfig(json: Record<string, unknown>): string[] | undefined {
  const id2label = json.id2label as Record<string, string> | undefined;
  if (!id2label) return undefined;
  const n = Object.keys(id2label).length;
  return Array.from({ length: n }, (_, i) => id2label[String(i)] ?? `LABEL_${i}`);
}

/** Checkpoint tensor names as Hugging Face renames them on load (TF-era gamma/beta). */
function canonicalName(name: string): string {
  return name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
}

/**
 * Loads `<dir>/model.safetensors` into `model` the way `from_pretrained` does: adds or strips
 * the `bert.` base-model prefix, assigns every tensor whose name matches, and reports the
 * missing and unexpected names. A matching name with another shape is an error naming the
 * tensor and both shapes (Hugging Face's `size mismatch for …`).
 */
export function loadHuggingFaceWeights(model: BertModel, dir: string): LoadReport {
  const file = fs.existsSync(dir) && fs.statSync(dir).isFile() ? dir : path.join(dir, 'model.safetensors');
  if (!fs.existsSync(file)) {
    const bin = path.join(dir, 'pytorch_model.bin');
    throw new DataError(`no model.safetensors in ${dir}`, {
      where: file,
      hint: fs.existsSync(bin)
        ? 'pytorch_model.bin (pickle) is not read; convert it once in Python: AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)'
        : 'place the checkpoint there as model.safetensors (Hugging Face format)',
    });
  }
  const { tensors } = readSafetensors(file);
  const expected = model.weightShapes();
  const prefix = model.prefix;
  const names = Object.keys(tensors);
  const base = prefix === '' ? 'bert.' : prefix;
  const checkpointHasPrefix = names.some((n) => n.startsWith(base));
  // `BertModel.from_pretrained` on a `BertFor…` checkpoint strips `bert.`; the reverse adds it.
  const target = (name: string): string => {
    const n = canonicalName(name);
    if (prefix === '' && checkpointHasPrefix) return n.startsWith(base) ? n.slice(base.length) : `\0${n}`;
    if (prefix !== '' && !checkpointHasPrefix && !n.startsWith('classifier.')) return `${prefix}${n}`;
    return n;
  };
  const assign: tf.NamedTensorMap = {};
  const unexpectedKeys: string[] = [];
  const seen = new Set<string>();
  try {
    for (const name of names) {
      const key = target(name);
      const shape = expected.get(key);
      // position_ids is a buffer, not a weight; transformers ignores it on load too.
      if (/(^|\.)embeddings\.position_ids$/.test(name)) continue;
      if (!shape) {
        // BertForTokenClassification's _keys_to_ignore_on_load_unexpected = [r"pooler"]: not reported.
        if (!(model.head === 'token-classification' && /pooler/.test(name))) unexpectedKeys.push(canonicalName(name));
        continue;
      }
      const t = tensors[name];
      if (!sameShape(shape, t.shape)) {
        throw new DataError(`size mismatch for ${key}: copying a param with shape [${t.shape.join(', ')}] from checkpoint, the shape in current model is [${shape.join(', ')}]`, {
          where: `${file}: ${name}`,
          hint: t.shape[0] !== shape[0] && key.startsWith('classifier.')
            ? 'the checkpoint has another number of labels; drop its classifier.* tensors or match the dataset classes'
            : 'the checkpoint was made for another model size: take the architecture from its config.json (model.pretrained does) or fix the size options',
        });
      }
      assign[key] = tf.tensor(t.data, t.shape, 'float32');
      seen.add(key);
    }
    model.setWeights(assign);
  } finally {
    tf.dispose(Object.values(assign));
  }
  const missingKeys = [...expected.keys()].filter((k) => !seen.has(k));
  const cls = model.name;
  const messages: string[] = [];
  if (unexpectedKeys.length) {
    messages.push(
      `Some weights of the model checkpoint at ${dir} were not used when initializing ${cls}: ${pyList(unexpectedKeys)}\n` +
        `- This IS expected if you are initializing ${cls} from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).\n` +
        `- This IS NOT expected if you are initializing ${cls} from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).`,
    );
  }
  if (missingKeys.length) {
    messages.push(
      `Some weights of ${cls} were not initialized from the model checkpoint at ${dir} and are newly initialized: ${pyList(missingKeys)}\n` +
        'You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.',
    );
  }
  return { missingKeys, unexpectedKeys, messages };
}

function toStored(t: tf.Tensor): StoredTensor {
  return { dtype: 'float32', shape: t.shape.slice(), data: Float32Array.from(t.dataSync()) };
}

/**
 * Writes a directory `transformers` loads with `AutoModel…from_pretrained(dir)` and
 * `AutoTokenizer.from_pretrained(dir)`: config.json, model.safetensors (F32, metadata
 * format=pt), and, when the model knows its vocabulary, vocab.txt + tokenizer_config.json.
 */
export function saveHuggingFace(model: BertModel, dir: string, options: { lowercase?: boolean; maxLength?: number } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, t] of Object.entries(model.getWeights())) tensors[name] = toStored(t);
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const config: Record<string, unknown> = {
    architectures: [HF_ARCHITECTURE[model.head]],
    model_type: 'bert',
    ...model.bertConfig,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
  };
  if (model.head !== 'none') {
    const labels = model.labels ?? Array.from({ length: model.numLabels }, (_, i) => `LABEL_${i}`);
    config.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    config.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
    if (model.head === 'sequence-classification') config.problem_type = 'single_label_classification';
  }
  writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (model.vocabulary) {
    writeFileAtomic(path.join(dir, 'vocab.txt'), `${model.vocabulary.join('\n')}\n`);
    const lowercase = options.lowercase ?? true;
    writeFileAtomic(
      path.join(dir, 'tokenizer_config.json'),
      `${JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: lowercase, strip_accents: null, tokenize_chinese_chars: true, model_max_length: options.maxLength ?? model.bertConfig.max_position_embeddings, unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' }, null, 2)}\n`,
    );
  }
}
