/**
 * scripts/apt-mirror.sh finds the Debian mirror the way apt reads its sources (sources.list(5)):
 * one-line sources.list and *.list files, deb822 *.sources files, nothing else; deb-src, disabled
 * and commented entries skipped. image-smoke.sh hands its answer to debootstrap.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const run = promisify(execFile);
const script = path.resolve(import.meta.dirname, '../../scripts/apt-mirror.sh');

/** Runs the script on an apt folder; resolves to its stdout (trimmed) or rejects with its stderr. */
async function mirror(suite: string, aptEtc: string, osRelease: string): Promise<string> {
  const { stdout } = await run(script, [suite], { env: { ...process.env, APT_ETC: aptEtc, OS_RELEASE: osRelease } });
  return stdout.trim();
}

describe('scripts/apt-mirror.sh', () => {
  let dir: string;
  let osRelease: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'apt-mirror-'));
    await mkdir(path.join(dir, 'sources.list.d'));
    osRelease = path.join(dir, 'os-release');
    await writeFile(osRelease, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n');
    await writeFile(
      path.join(dir, 'sources.list'),
      [
        '# deb http://commented.example/debian bookworm main',
        'deb-src http://source.example/debian bookworm main',
        'deb http://contrib-only.example/debian bookworm contrib',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://security.example/debian-security bookworm-security main',
        '',
      ].join('\n'),
    );
    // apt reads only *.list and *.sources from sources.list.d.
    await writeFile(
      path.join(dir, 'sources.list.d', 'old.list.disabled'),
      'deb http://ignored-extension.example/debian bookworm main\n',
    );
    await writeFile(
      path.join(dir, 'sources.list.d', 'debian.sources'),
      [
        'Types: deb',
        'URIs: http://disabled.example/debian',
        'Suites: bookworm',
        'Components: main',
        'Enabled: no',
        '',
        '# a comment between entries',
        'Types: deb deb-src',
        'URIs: http://mirror.example/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main contrib',
        'Signed-By:',
        ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
        ' Suites: trixie',
        ' -----END PGP PUBLIC KEY BLOCK-----',
        '',
        'Types: deb',
        'URIs: http://other.example/debian',
        'Suites: trixie',
        'Components: main',
        '',
      ].join('\n'),
    );
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('takes the first enabled deb entry with main for the suite, from the one-line and deb822 files apt reads', async () => {
    assert.equal(await mirror('bookworm', dir, osRelease), 'http://mirror.example/debian');
    assert.equal(await mirror('bookworm-updates', dir, osRelease), 'http://mirror.example/debian');
    assert.equal(await mirror('bookworm-security', dir, osRelease), 'http://security.example/debian-security');
    assert.equal(await mirror('trixie', dir, osRelease), 'http://other.example/debian');
  });

  it("falls back to the mirror of the machine's own release for a suite no entry names", async () => {
    assert.equal(await mirror('forky', dir, osRelease), 'http://mirror.example/debian');
  });

  it('fails with a message naming the folders when nothing fits', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'apt-mirror-empty-'));
    try {
      await assert.rejects(mirror('bookworm', empty, path.join(empty, 'none')), (error: Error & { stderr: string }) => {
        assert.match(error.stderr, /no enabled 'deb' source with component main for bookworm in .*sources\.list\.d/);
        return true;
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('on this machine, answers a mirror written in its own apt sources', async () => {
    const found = await mirror('bookworm', '/etc/apt', '/etc/os-release');
    assert.match(found, /^https?:\/\/\S+$/);
    const texts = [await readFile('/etc/apt/sources.list', 'utf8').catch(() => '')];
    for (const name of await readdir('/etc/apt/sources.list.d')) {
      if (/\.(list|sources)$/.test(name))
        texts.push(await readFile(path.join('/etc/apt/sources.list.d', name), 'utf8'));
    }
    assert.ok(
      texts.some((t) => t.includes(found)),
      `${found} is not in /etc/apt`,
    );
  });
});
