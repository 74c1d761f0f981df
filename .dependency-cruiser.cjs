/**
 * The layers (README "Shape"): engine <- service <- transports (server, cli, main, preload) and the
 * renderer, which talks to the contract only; inside the engine, a ladder of folders (LADDER). Checked in `npm test` (scripts/architecture.test.ts): a
 * violation fails the build naming the import. `npx depcruise src` prints them too.
 */
const TRANSPORTS = '^src/(server|cli|main|preload)/'

/**
 * Inside the engine the folders form a ladder, lowest first: each imports only rungs below it (and
 * itself). The base files are leaves; data and models; the tfjs backend chooser (it registers the
 * model's kernels); compressors; the channel; controllers and the
 * clock (control/); the config schema, assembled from the plug-in registries; the federated loop
 * and the offline stage (fl/).
 */
const LADDER = [
  ['base', '^src/engine/(rng|paths|schema|plugin|wire|backendNames)\\.ts$'],
  ['data', '^src/engine/data/'],
  ['model', '^src/engine/model/'],
  ['backend', '^src/engine/backend\\.ts$'],
  ['compress', '^src/engine/compress/'],
  ['channel', '^src/engine/channel/'],
  ['control', '^src/engine/control/'],
  ['config', '^src/engine/config\\.ts$'],
  ['fl', '^src/engine/fl/'],
]
const ladderRules = LADDER.slice(0, -1).map(([name, from], i) => ({
  name: `engine-ladder-${name}`,
  comment: `src/engine rung "${name}" imports only rungs below it: not ${LADDER.slice(i + 1).map(([n]) => n).join(', ')}`,
  severity: 'error',
  from: { path: from },
  to: { path: LADDER.slice(i + 1).map(([, p]) => p) },
}))

module.exports = {
  forbidden: [
    ...ladderRules,
    {
      name: 'engine-is-pure',
      comment: 'src/engine is pure TypeScript + tfjs: it imports nothing of the service, the transports, the renderer or the contract, and no Electron or Vue',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: ['^src/(service|server|cli|main|preload|renderer|shared)/', '^(electron|vue|pinia|echarts)($|/)'] },
    },
    {
      name: 'service-below-transports',
      comment: 'src/service is used by the transports; it imports none of them, nor the renderer',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: [TRANSPORTS, '^src/renderer/', '^(electron|vue|pinia)($|/)'] },
    },
    {
      name: 'renderer-talks-to-the-contract',
      comment: 'the renderer imports only src/contract (the contract and its helpers) and front-end packages',
      severity: 'error',
      from: { path: '^src/renderer/' },
      to: { path: ['^src/(engine|service|server|cli|main|preload)/', '^electron($|/)'] },
    },
    {
      name: 'contract-stands-alone',
      comment: 'src/contract is the contract: it imports only itself, the engine\'s pure path helpers and the engine\'s wire types',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { path: '^src/', pathNot: ['^src/contract/', '^src/engine/(paths|wire)\\.ts$'] },
    },
    {
      name: 'transports-do-not-reach-the-renderer',
      severity: 'error',
      from: { path: TRANSPORTS },
      to: { path: '^src/renderer/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.node.json' },
  },
};
