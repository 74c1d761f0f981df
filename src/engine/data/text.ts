/**
 * Text to model input: tokenisation with a Hugging Face `tokenizer.json` (WordPiece, BPE, Unigram)
 * through @huggingface/tokenizers (pure JS, no downloads), truncation/padding to the model's
 * sequence length, and a word-level vocabulary builder for models trained here.
 *
 * The word-level vocabulary is written as a WordPiece tokenizer.json whose vocabulary holds only
 * whole words (no "##" pieces): WordPiece then maps every known word to its id and every other word
 * to [UNK], i.e. a word-level tokenizer, readable by the same library and by Python's `tokenizers`.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { PatchedDataset } from './types';
import { DataFileError } from './idx';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** A tokenizer.json document (the parts we write; any valid document is accepted on load). */
export type TokenizerJson = Record<string, unknown>;

/** Build a tokenizer from a parsed tokenizer.json; `source` names it in errors. */
export function loadTokenizer(json: unknown, source: string): Tokenizer {
  if (!json || typeof json !== 'object' || !('model' in (json as object))) {
    throw new DataFileError(source, 'not a tokenizer.json (no "model" section); export one with `tokenizer.save_pretrained()` or `tokenizers`');
  }
  try {
    return new Tokenizer(json, {});
  } catch (e) {
    const msg = (e as Error).message;
    throw new DataFileError(source, `unsupported tokenizer.json: ${msg.length > 200 ? `${msg.slice(0, 200)}...` : msg}`);
  }
}

/** Id of the padding token of a tokenizer: [PAD], <pad>, or the `padding.pad_id` it declares. */
export function padIdOf(tok: Tokenizer, json: TokenizerJson, source: string): number {
  const declared = (json.padding as { pad_id?: number } | null | undefined)?.pad_id;
  if (typeof declared === 'number') return declared;
  for (const t of ['[PAD]', '<pad>']) { const id = tok.token_to_id(t); if (id !== undefined) return id; }
  throw new DataFileError(source, 'the tokenizer has no padding token ([PAD] or <pad>)');
}

/**
 * Texts to token-id rows [n * seqLen] (as float32, the batch format), truncated to seqLen (the
 * special tokens the tokenizer adds, e.g. [CLS] ... [SEP], included) and right-padded with padId.
 */
export function tokenizeTexts(tok: Tokenizer, texts: string[], seqLen: number, padId: number): { ids: Float32Array; truncated: number; unknown: number; tokens: number } {
  const ids = new Float32Array(texts.length * seqLen).fill(padId);
  const unkId = tok.token_to_id('[UNK]') ?? tok.token_to_id('<unk>');
  let truncated = 0, unknown = 0, tokens = 0;
  texts.forEach((t, i) => {
    const enc = tok.encode(t).ids;
    if (enc.length > seqLen) truncated++;
    const n = Math.min(enc.length, seqLen);
    for (let j = 0; j < n; j++) { ids[i * seqLen + j] = enc[j]; if (enc[j] === unkId) unknown++; }
    tokens += n;
  });
  return { ids, truncated, unknown, tokens };
}

/** A labelled text split as model input rows: sample i is tokens [i*seqLen, (i+1)*seqLen), one per row. */
export function textDataset(ids: Float32Array, labels: Int32Array, seqLen: number, numClasses: number): PatchedDataset {
  return { x: ids, y: labels, n: labels.length, rowLen: seqLen, numPatches: seqLen, numClasses };
}

/**
 * A word-level tokenizer.json from training texts: lowercase (BERT normaliser: also strips
 * accents and control characters), split on whitespace and punctuation (BERT pre-tokenizer), the
 * `vocabSize - 5` most frequent words (ties by first appearance) after [PAD] [UNK] [CLS] [SEP] [MASK];
 * encoding adds [CLS] in front (the pooled token of cls-pooling models) and [SEP] at the end.
 */
export function buildWordTokenizer(texts: string[], vocabSize: number): TokenizerJson {
  if (vocabSize <= SPECIAL_TOKENS.length) throw new Error(`vocabSize must exceed ${SPECIAL_TOKENS.length} (the special tokens)`);
  const skeleton = wordTokenizerJson({ '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4 });
  const tok = new Tokenizer(skeleton, {});
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of tok.pre_tokenizer!.pre_tokenize(tok.normalizer!.normalize(t))) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()].filter(([w]) => !(SPECIAL_TOKENS as readonly string[]).includes(w))
    .sort((a, b) => b[1] - a[1]).slice(0, vocabSize - SPECIAL_TOKENS.length).map(([w]) => w);
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((t, i) => { vocab[t] = i; });
  words.forEach((w, i) => { vocab[w] = SPECIAL_TOKENS.length + i; });
  return wordTokenizerJson(vocab);
}

function wordTokenizerJson(vocab: Record<string, number>): TokenizerJson {
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: SPECIAL_TOKENS.map((t, i) => ({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}
