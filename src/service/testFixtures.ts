/** Tiny run configs for tests: a few seconds of training on 2 cores. */
export function tinyConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny', seed: 7, backend: 'wasm',
    data: { trainSamples: 200, testSamples: 100 },
    federation: { numClients: 4, clientsPerRound: 2, rounds: 2 },
    train: { localSteps: 2 },
    ...over,
  };
}
