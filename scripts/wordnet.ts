/**
 * WordNet 3.0 noun glosses (Debian package `wordnet-base`, /usr/share/wordnet/data.noun) as a text
 * classification task: a synset's definition -> its lexicographer file (noun.animal, noun.food, ...).
 * Shared by the shipped dataset builder (8 noun classes) and the text pretraining script
 * (masked-word prediction on definitions of every part of speech, without the shipped test split).
 */
import * as fs from 'node:fs';
import { Rng } from '../src/engine/rng';

export const WORDNET_SRC = '/usr/share/wordnet';
export const WORDNET_SEED = 2025;

/** Lexicographer files of nouns (wndb(5WN) / lexnames(5WN)): number -> name. */
export const NOUN_LEXNAMES: Record<number, string> = {
  3: 'Tops', 4: 'act', 5: 'animal', 6: 'artifact', 7: 'attribute', 8: 'body', 9: 'cognition', 10: 'communication',
  11: 'event', 12: 'feeling', 13: 'food', 14: 'group', 15: 'location', 16: 'motive', 17: 'object', 18: 'person',
  19: 'phenomenon', 20: 'plant', 21: 'possession', 22: 'process', 23: 'quantity', 24: 'relation', 25: 'shape', 26: 'state',
  27: 'substance', 28: 'time',
};

/** The shipped fine-tuning task: concrete-noun classes. */
export const FINETUNE_CLASSES = ['animal', 'artifact', 'body', 'food', 'location', 'person', 'plant', 'substance'];
export const TRAIN_PER_CLASS = 500;
export const TEST_PER_CLASS = 125;

export interface Gloss { text: string; cls: string }

/**
 * Every noun synset's definition (the gloss up to its first quoted example), with its class;
 * definitions of fewer than 3 words and repeated definitions are dropped.
 */
export function readNounGlosses(src = WORDNET_SRC): Gloss[] {
  const file = `${src}/data.noun`;
  if (!fs.existsSync(file)) throw new Error(`${file} not found: install it with \`apt-get install wordnet-base\` or pass --src`);
  const seen = new Set<string>(), out: Gloss[] = [];
  for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
    if (!line || line.startsWith('  ')) continue; // licence header lines start with two spaces
    const bar = line.indexOf(' | ');
    if (bar < 0) continue;
    const cls = NOUN_LEXNAMES[Number(line.split(' ')[1])];
    const def = line.slice(bar + 3).split(/;\s*"/)[0].replace(/\s+/g, ' ').trim();
    if (!cls || def.split(' ').length < 3 || seen.has(def)) continue;
    seen.add(def);
    out.push({ text: def, cls });
  }
  return out;
}

/** Definitions of every part of speech (data.noun, data.verb, data.adj, data.adv), deduplicated; cls = the part of speech. */
export function readGlosses(src = WORDNET_SRC): Gloss[] {
  const seen = new Set<string>(), out: Gloss[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    const file = `${src}/data.${pos}`;
    if (!fs.existsSync(file)) throw new Error(`${file} not found: install it with \`apt-get install wordnet-base\` or pass --src`);
    for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
      if (!line || line.startsWith('  ')) continue;
      const bar = line.indexOf(' | ');
      if (bar < 0) continue;
      const def = line.slice(bar + 3).split(/;\s*"/)[0].replace(/\s+/g, ' ').trim();
      if (def.split(' ').length < 3 || seen.has(def)) continue;
      seen.add(def);
      out.push({ text: def, cls: pos });
    }
  }
  return out;
}

/** Up to `perClass` glosses of each class, drawn without replacement by a child of `rng`, in class order. */
export function sampleByClass(glosses: Gloss[], classes: string[], perClass: number, rng: Rng): Gloss[][] {
  return classes.map((c) => {
    const members = glosses.filter((g) => g.cls === c);
    const k = Math.min(perClass, members.length);
    return rng.child(c).sample(members.length, k).map((i) => members[i]);
  });
}

/** The shipped fine-tuning split: TRAIN + TEST per class, shuffled. */
export function finetuneSplit(glosses: Gloss[]): { train: Gloss[]; test: Gloss[] } {
  const rng = new Rng(`wordnet/${WORDNET_SEED}`);
  const picked = sampleByClass(glosses, FINETUNE_CLASSES, TRAIN_PER_CLASS + TEST_PER_CLASS, rng.child('finetune'));
  picked.forEach((p, i) => { if (p.length < TRAIN_PER_CLASS + TEST_PER_CLASS) throw new Error(`class ${FINETUNE_CLASSES[i]} has only ${p.length} glosses`); });
  const train = picked.flatMap((p) => p.slice(0, TRAIN_PER_CLASS)), test = picked.flatMap((p) => p.slice(TRAIN_PER_CLASS));
  return { train: rng.child('order-train').shuffle(train) as Gloss[], test: rng.child('order-test').shuffle(test) as Gloss[] };
}

/** One CSV field (RFC 4180 quoting when needed). */
export const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
