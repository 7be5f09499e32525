/**
 * Writes every `run:` block of the given GitHub Actions workflows to its own bash file, for
 * shellcheck (.ci/run). The files start the way the runner starts a `run:` step
 * (`bash --noprofile --norc -eo pipefail`), and `${{ … }}` expressions, which the runner
 * substitutes before bash sees the script, become a plain word.
 *
 * Usage: tsx scripts/extract-run-blocks.ts <out-dir> <workflow.yml>...; prints the files written.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

interface Step {
  run?: string;
  shell?: string;
}

const [outDir, ...workflows] = process.argv.slice(2);
if (!outDir || workflows.length === 0) {
  console.error('usage: extract-run-blocks.ts <out-dir> <workflow.yml>...');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
for (const file of workflows) {
  const workflow = parse(readFileSync(file, 'utf8')) as { jobs: Record<string, { steps?: Step[] }> };
  for (const [job, { steps = [] }] of Object.entries(workflow.jobs)) {
    steps.forEach((step, index) => {
      if (step.run === undefined) return;
      if (step.shell && step.shell !== 'bash') return;
      const script = step.run.replace(/\$\{\{[^}]*\}\}/g, 'GITHUB_EXPRESSION');
      const target = path.join(outDir, `${path.basename(file, '.yml')}.${job}.${index + 1}.sh`);
      writeFileSync(target, `#!/usr/bin/env bash\nset -eo pipefail\n${script}`);
      console.log(target);
    });
  }
}
