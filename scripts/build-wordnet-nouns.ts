/**
 * `npm run build-text-data`: builds the shipped text dataset resources/data/wordnet-nouns/ from the
 * Debian package `wordnet-base` (WordNet 3.0, Princeton University; WordNet 3.0 licence, see
 * LICENSE): noun definitions labelled with their WordNet class (lexicographer file), 8 classes
 * (animal, artifact, body, food, location, person, plant, substance), 500 training and 125 test
 * definitions per class, seeded (scripts/wordnet.ts), as train.csv / test.csv with columns text,label.
 *   npx tsx scripts/build-wordnet-nouns.ts [--src DIR] [--out DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { csvField, FINETUNE_CLASSES, finetuneSplit, readNounGlosses, TEST_PER_CLASS, TRAIN_PER_CLASS, WORDNET_SEED, WORDNET_SRC, type Gloss } from './wordnet';

const LICENSE = `WordNet Release 3.0

This software and database is being provided to you, the LICENSEE, by
Princeton University under the following license.  By obtaining, using
and/or copying this software and database, you agree that you have
read, understood, and will comply with these terms and conditions.:

Permission to use, copy, modify and distribute this software and
database and its documentation for any purpose and without fee or
royalty is hereby granted, provided that you agree to comply with
the following copyright notice and statements, including the disclaimer,
and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal
use or for distribution.

WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR
IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-
ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR
OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in
advertising or publicity pertaining to distribution of the software
and/or database.  Title to copyright in this software, database and
any associated documentation shall at all times remain with
Princeton University and LICENSEE agrees to preserve same.
`;

const csv = (rows: Gloss[]) => 'text,label\n' + rows.map((g) => `${csvField(g.text)},${g.cls}\n`).join('');

function main() {
  const { values } = parseArgs({ options: { src: { type: 'string', default: WORDNET_SRC }, out: { type: 'string', default: 'resources/data/wordnet-nouns' } } });
  const { train, test } = finetuneSplit(readNounGlosses(values.src));
  fs.mkdirSync(values.out!, { recursive: true });
  fs.writeFileSync(path.join(values.out!, 'train.csv'), csv(train));
  fs.writeFileSync(path.join(values.out!, 'test.csv'), csv(test));
  fs.writeFileSync(path.join(values.out!, 'LICENSE'), LICENSE);
  fs.writeFileSync(path.join(values.out!, 'README.md'), `# WordNet noun definitions (shipped text dataset)

Definitions of WordNet 3.0 noun synsets (Princeton University, https://wordnet.princeton.edu; WordNet 3.0
licence, see LICENSE), each labelled with its WordNet noun class (lexicographer file). A real,
human-written text classification task: "a small cake leavened with yeast" -> food.

- classes (8): ${FINETUNE_CLASSES.join(', ')} (chance: 12.5%)
- train.csv: ${train.length} definitions (${TRAIN_PER_CLASS} per class); test.csv: ${test.length} (${TEST_PER_CLASS} per class); columns \`text,label\`
- text: the gloss up to its first quoted example; definitions under 3 words and repeats are dropped
- made by \`npm run build-text-data\` (scripts/build-wordnet-nouns.ts, seed ${WORDNET_SEED}) from the Debian package \`wordnet-base\`
  (/usr/share/wordnet/data.noun)

The shipped text model \`text-wordnet-base\` was pretrained without labels, by masked-word
prediction on a sample of WordNet definitions of every part of speech (scripts/pretrain-text.ts),
which may include train.csv's texts (never their labels); no test.csv definition was in its
pretraining text or counted for its vocabulary.
`);
  process.stderr.write(`wrote ${train.length} + ${test.length} definitions to ${values.out} (${((fs.statSync(path.join(values.out!, 'train.csv')).size + fs.statSync(path.join(values.out!, 'test.csv')).size) / 1e3).toFixed(0)} kB)\n`);
}

main();
