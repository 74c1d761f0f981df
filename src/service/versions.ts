/** Versions recorded in every run's meta.json. */
import * as tf from '@tensorflow/tfjs-core';
import pkg from '../../package.json';

export function versions(): Record<string, string> {
  return { app: pkg.version, node: process.versions.node, tfjsCore: tf.version_core, v8: process.versions.v8 };
}
