/**
 * The layers of src/ and the one direction imports may take between them (ARCHITECTURE.md).
 * `npm run lint` runs it: `depcruise src`. Type-only imports count too.
 *
 *   app.ts ─► items ─► drf ─► db ─► config.ts
 *     │                 ▲      ▲
 *     ├─► platform ─────┘      │
 *     └─► ops ────► drf, db ───┘
 *   server.ts ─► app.ts, process ─► ops (readiness), platform (logger), db
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module may import itself back, directly or through others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'only-app-knows-resources',
      severity: 'error',
      comment: 'A resource (items/) is wired in app.ts and nowhere else, so a second one is a folder and a line there.',
      from: { path: '^src/', pathNot: ['^src/app\\.ts$', '^src/items/'] },
      to: { path: '^src/items/' },
    },
    {
      name: 'entry-points-are-not-imported',
      severity: 'error',
      comment: 'server.ts and migrate.ts are process entries; app.ts is imported by server.ts only.',
      from: { path: '^src/', pathNot: '^src/server\\.ts$' },
      to: { path: '^src/(server|migrate|app)\\.ts$' },
    },
    {
      name: 'drf-is-a-kit',
      severity: 'error',
      comment: 'The DRF kit knows no resource, no operations route, no platform piece, no process model.',
      from: { path: '^src/drf/' },
      to: { path: '^src/(items|ops|platform|process)/' },
    },
    {
      name: 'db-is-the-bottom',
      severity: 'error',
      comment: 'The database layer knows nothing of HTTP or of the process.',
      from: { path: '^src/db/' },
      to: { path: '^src/(drf|items|ops|platform|process)/' },
    },
    {
      name: 'ops-not-process',
      severity: 'error',
      comment: 'Operations routes take what the process model gives them as options (renderMetrics).',
      from: { path: '^src/ops/' },
      to: { path: '^src/(items|platform|process)/' },
    },
    {
      name: 'platform-is-generic',
      severity: 'error',
      comment: 'Logging, security, OpenAPI and the page take what is resource-specific from the resources.',
      from: { path: '^src/platform/' },
      to: { path: '^src/(items|ops|process)/' },
    },
    {
      name: 'process-runs-the-app',
      severity: 'error',
      comment: 'The process model (cluster, shutdown) knows no resource and no DRF rule.',
      from: { path: '^src/process/' },
      to: { path: '^src/(items|drf)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
