/**
 * The Dockerfile and .dockerignore, checked from the parsed file (dockerfile-ast): stages, user,
 * health check, entry point and what the build context leaves out. No Docker engine runs here; `npm run image:smoke` builds and
 * runs the image for real with buildah.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DockerfileParser,
  type Copy,
  type Env,
  type Healthcheck,
  type Instruction,
  type JSONInstruction,
} from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { loadConfig } from '../../src/config.js';
import { onShutdownSignal, SHUTDOWN_SIGNALS } from '../../src/process/shutdown.js';

const root = path.resolve(import.meta.dirname, '../..');
const source = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(source);

interface Stage {
  name: string | null;
  image: string | null;
  tag: string | null;
  instructions: Instruction[];
}

/** Instructions grouped by build stage, in file order; each stage starts with its FROM. */
function stages(): Stage[] {
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!;
      result.push({
        name: from.getBuildStage(),
        image: from.getImageName(),
        tag: from.getImageTag(),
        instructions: [],
      });
    }
    result.at(-1)?.instructions.push(instruction);
  }
  return result;
}

const all = stages();
const final = all.at(-1)!;
const finalOf = (keyword: string) => final.instructions.filter((i) => i.getKeyword() === keyword);
/** The final stage's ENV variables, by name. */
const finalEnv = (): Record<string, string | null> =>
  Object.fromEntries(finalOf('ENV').flatMap((i) => (i as Env).getProperties().map((p) => [p.getName(), p.getValue()])));
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
/** The strings of an exec-form (JSON array) instruction such as CMD or HEALTHCHECK CMD. */
const jsonStrings = (i: Instruction) => (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
const runText = (stage: Stage) =>
  stage.instructions
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) => i.getArgumentsContent() ?? '')
    .join('\n');

describe('Dockerfile', () => {
  it('dockerfile-utils validate() finds no problem', () => {
    assert.deepEqual(validate(source), []);
  });

  it('has at least two named stages, every FROM is node:<20+>-<variant> pinned by full version', () => {
    assert.ok(all.length >= 2, `${all.length} stage(s)`);
    for (const stage of all) {
      assert.ok(stage.name, `FROM ${stage.image}:${stage.tag} has no AS name`);
      assert.equal(stage.image, 'node');
      const match = /^(\d+)\.\d+\.\d+-[a-z]+(-slim)?$/.exec(stage.tag ?? '');
      assert.ok(match, `tag "${stage.tag}" is not <major>.<minor>.<patch>-<variant>`);
      assert.ok(Number(match[1]) >= 20 && Number(match[1]) % 2 === 0, `node ${match[1]} is not an LTS line >= 20`);
    }
    assert.ok(final.tag?.endsWith('-slim'), 'the runtime stage uses a slim base');
    assert.equal(new Set(all.map((s) => s.tag)).size, 1, 'build and runtime stages use the same Node.js');
  });

  it('the build stage installs from the lockfile with npm ci, compiles, and keeps production dependencies only', () => {
    const build = all.find((s) => s.name === 'build');
    assert.ok(build, 'no stage named build');
    const run = runText(build);
    assert.match(run, /\bnpm ci\b/);
    assert.match(run, /\bnpm run build\b/);
    assert.match(run, /\bnpm (prune|ci) --omit=dev\b/, 'dev dependencies are not removed');
    assert.ok(run.lastIndexOf('--omit=dev') > run.lastIndexOf('npm run build'), '--omit=dev comes after the compile');
  });

  it('the final stage copies only dist/, public/ (the static management page), package.json, node_modules and certs/ from the build stage (no COPY . .)', () => {
    const copies = finalOf('COPY');
    assert.ok(copies.length > 0);
    const sources: string[] = [];
    for (const copy of copies) {
      const from = (copy as Copy).getFlags().find((f) => f.getName() === 'from');
      assert.equal(from?.getValue(), 'build', `${copy.getRawArgumentsContent()} is not copied from the build stage`);
      sources.push(...args(copy).slice(0, -1));
    }
    assert.deepEqual(sources.map((s) => s.replace(/^\/app\//, '')).sort(), [
      'certs',
      'dist',
      'node_modules',
      'package.json',
      'public',
    ]);
    assert.equal(finalOf('ADD').length, 0);
  });

  it('runs as the non-root user node', () => {
    const users = finalOf('USER');
    assert.equal(users.length, 1);
    assert.deepEqual(args(users[0]!), ['node']);
  });

  it('sets NODE_ENV=production', () => {
    const env = finalEnv();
    assert.equal(env.NODE_ENV, 'production');
  });

  it('passes Node the flags npm start does, as NODE_OPTIONS (CMD stays node dist/server.js)', () => {
    const env = finalEnv();
    const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } })
      .scripts.start;
    const flags = /^node (.+) dist\/server\.js$/.exec(start)?.[1];
    assert.ok(flags, `npm start runs node with flags: ${start}`);
    assert.equal(env.NODE_OPTIONS, flags);
  });

  it('EXPOSE is the port the service listens on by default (config PORT, the target group port)', () => {
    const exposed = finalOf('EXPOSE').flatMap(args);
    assert.deepEqual(exposed, [String(loadConfig({}).port)]);
    assert.deepEqual(exposed, ['8000']);
  });

  it('HEALTHCHECK probes /healthz with node (exec form; slim images have no curl)', () => {
    const checks = finalOf('HEALTHCHECK');
    assert.equal(checks.length, 1);
    const check = checks[0]!;
    assert.equal((check as Healthcheck).getSubcommand()?.getValue(), 'CMD');
    const content = check.getArgumentsContent() ?? '';
    const command = JSON.parse(content.slice(content.indexOf('['))) as string[];
    assert.equal(command[0], 'node', `HEALTHCHECK runs ${command[0]}`);
    assert.match(command.join(' '), /http:\/\/127\.0\.0\.1:.*\/healthz/);
  });

  it('CMD is exec form ["node", "dist/server.js"], the file npm run build emits from src/server.ts so SIGTERM reaches node', () => {
    const cmds = finalOf('CMD');
    assert.equal(cmds.length, 1);
    assert.deepEqual(jsonStrings(cmds[0]!), ['node', 'dist/server.js']);
    assert.equal(finalOf('ENTRYPOINT').length, 0, 'an ENTRYPOINT would wrap node');
    const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
    assert.equal(build.compilerOptions.rootDir, 'src');
    assert.equal(build.compilerOptions.outDir, 'dist');
    assert.ok(statSync(path.join(root, 'src/server.ts')).isFile());
    assert.ok(
      statSync(path.join(root, 'src/migrate.ts')).isFile(),
      'dist/migrate.js (the migration task) comes from src/migrate.ts',
    );
  });

  it('has an absolute WORKDIR, no ADD or MAINTAINER, no syntax directive, no secret-like ARG/ENV', () => {
    const workdirs = final.instructions.filter((i) => i.getKeyword() === 'WORKDIR').flatMap(args);
    assert.ok(workdirs.length > 0);
    for (const dir of workdirs) assert.ok(dir.startsWith('/'), `WORKDIR ${dir}`);
    const keywords = dockerfile.getInstructions().map((i) => i.getKeyword());
    assert.ok(!keywords.includes('ADD') && !keywords.includes('MAINTAINER'));
    assert.equal(
      dockerfile.getDirectives().length,
      0,
      'a parser directive (# syntax=) makes BuildKit pull a frontend image',
    );
    assert.doesNotMatch(source, /^\s*#\s*syntax\s*=/im);
    const names = [
      ...dockerfile.getARGs().map((a) => a.getProperty()?.getName() ?? ''),
      ...dockerfile.getENVs().flatMap((e) => e.getProperties().map((p) => p.getName())),
    ];
    for (const name of names) assert.doesNotMatch(name, /PASS|SECRET|TOKEN|KEY|CREDENTIAL/i, name);
  });

  it('the node user can write logs/ (LOG_DIR default) and data/ (default SQLite file) under WORKDIR', () => {
    const config = loadConfig({});
    assert.equal(config.logDir, 'logs');
    assert.equal(config.database.client, 'sqlite');
    if (config.database.client === 'sqlite')
      assert.equal(path.relative(process.cwd(), config.database.filename), 'data/db.sqlite3');
    const run = final.instructions.find((i) => i.getKeyword() === 'RUN' && /chown/.test(i.getArgumentsContent() ?? ''));
    assert.ok(run, 'no RUN chown in the final stage');
    assert.match(run.getArgumentsContent()!, /mkdir -p logs data && chown node:node logs data/);
    const userLine = finalOf('USER')[0]!.getRange().start.line;
    assert.ok(run.getRange().start.line < userLine, 'the folders are prepared before USER node');
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('excludes node_modules, .git, .env*, build output, logs, data and coverage', () => {
    for (const p of ['node_modules', '.git', '.env*', 'dist', 'logs', 'data', 'coverage', 'test-output']) {
      assert.ok(patterns.includes(p), `${p} is not excluded`);
    }
  });

  it('keeps what the build stage copies (package files, tsconfig, src, public, certs)', () => {
    assert.ok(
      !patterns.some((p) => p === '*' || p === '**' || p.startsWith('!')),
      'no catch-all or re-include patterns',
    );
    const copied = all
      .find((s) => s.name === 'build')!
      .instructions.filter((i) => i.getKeyword() === 'COPY')
      .flatMap((i) => args(i).slice(0, -1));
    assert.deepEqual(copied.sort(), [
      'certs',
      'package-lock.json',
      'package.json',
      'public',
      'src',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
    for (const file of copied) {
      assert.ok(!patterns.includes(file), `${file} is copied but excluded`);
      statSync(path.join(root, file));
    }
  });
});

describe('process signals', () => {
  it('the server registers SIGTERM and SIGINT handlers (ECS sends SIGTERM, then SIGKILL after stopTimeout)', () => {
    assert.deepEqual([...SHUTDOWN_SIGNALS].sort(), ['SIGINT', 'SIGTERM']);
    const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
    onShutdownSignal(() => {});
    for (const signal of SHUTDOWN_SIGNALS) {
      const added = process.listeners(signal).filter((l) => !before.get(signal)!.includes(l));
      assert.equal(added.length, 1, `onShutdownSignal registers one ${signal} listener`);
      process.removeListener(signal, added[0]!);
    }
    assert.match(
      readFileSync(path.join(root, 'src/server.ts'), 'utf8'),
      /\bonShutdownSignal\(/,
      'src/server.ts listens for the signals',
    );
  });
});
