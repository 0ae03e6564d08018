/**
 * The import rules of the data path: ingest -> asr -> segmenter -> display -> sink, and of the control plane around it. Stages depend on the neutral
 * contracts (src/audio.ts, each stage's types), never back up the path; `npm run lint:deps` checks them.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle means two modules each need the other: one of them holds a contract that belongs elsewhere.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'stages-do-not-reach-back',
      severity: 'error',
      comment: 'Recognizers, the segmenter, the display and the sinks take their input as data: they never import the producers or the pipeline that wires them.',
      from: { path: '^src/(asr|segmenter|display|caption)/' },
      to: { path: '^src/(ingest|pipeline|http|daemon\\.ts|cli\\.ts)' },
    },
    {
      name: 'ingest-feeds-an-interface',
      severity: 'error',
      comment: 'Ingest feeds a stream target, a contract it owns (ingest/target.ts) and the pipeline implements: it never imports the pipeline.',
      from: { path: '^src/ingest/' },
      to: { path: '^src/pipeline/' },
    },
    {
      name: 'one-meeting-does-not-know-the-control-plane',
      severity: 'error',
      comment: "pipeline/ is one meeting's data path; where meetings come from and go (control/: registry, hosts, webhooks, fleet) uses it, never the reverse.",
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(control|http|daemon\\.ts|cli\\.ts)' },
    },
    {
      name: 'control-plane-under-the-listeners',
      severity: 'error',
      comment: 'The control plane decides what runs; the HTTP server and the daemon show and compose it: control/ imports neither.',
      from: { path: '^src/control/' },
      to: { path: '^src/(http|daemon\\.ts|cli\\.ts)' },
    },
    {
      name: 'config-composes-feature-schemas',
      severity: 'error',
      comment: 'Features own their options; config composes them. A feature importing config would be a back-edge.',
      from: { path: '^src/(asr|segmenter|display|caption|ingest|security|util)/' },
      to: { path: '^src/config/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
