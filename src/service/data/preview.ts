/**
 * Data preview for the new-run form (`data.preview`): how the config's partition spreads the
 * classes over the clients (the same seeded partition a run uses) and a few training samples.
 */
import { ApiError, type DataPreview } from '../../contract/api';
import { validOrThrow } from '../validate';
import type { ExperimentConfig } from '../../engine/config';
import { configPartition, loadTrainLabels, previewSamples } from './datasets';

export function dataPreview(config: ExperimentConfig, baseDir: string, samples = 8): DataPreview {
  const { labels, numClasses } = loadTrainLabels(config, baseDir);
  const parts = configPartition(config, labels, numClasses);
  const clientHistograms = parts.map((idx) => {
    const h = new Array<number>(numClasses).fill(0);
    for (const i of idx) h[labels[i]]++;
    return h;
  });
  const s = previewSamples(config, baseDir, samples);
  return { format: s.format, numClasses, classNames: s.classNames, trainSamples: labels.length, clientHistograms, samples: s.samples };
}

/** The preview of a submitted config, validated like a run's config; a dataset that cannot be read is an 'invalid-config' at data.dataset. */
export function previewConfig(input: unknown, baseDir: string): DataPreview {
  const config = validOrThrow(input, baseDir);
  try {
    return dataPreview(config, baseDir);
  } catch (e) {
    throw new ApiError('invalid-config', (e as Error).message, [{ path: 'data.dataset', message: (e as Error).message }]);
  }
}
