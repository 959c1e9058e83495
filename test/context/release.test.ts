/**
 * Finding the running release once at start (src/context/release.ts): deploy
 * variables first, then package.json, then the checked-out commit with the
 * real git; nothing when none is there.
 */

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean, detectRelease, RELEASE_VARIABLES, resolveDeployment } from '../../src/context/release.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-release-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a deploy variable comes first, in the documented order', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ version: '1.4.0' }));
  t.deepEqual(detectRelease({ env: { SOURCE_VERSION: 'heroku-sha', GITHUB_SHA: ' abc123 ' }, cwd }), {
    release: 'abc123',
    source: 'GITHUB_SHA',
  });
  for (const name of RELEASE_VARIABLES) {
    t.is(detectRelease({ env: { [name]: `from-${name}` }, cwd })?.source, name);
  }
});

test('then the package version at the project root', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'shop', version: '2.0.1' }));
  t.deepEqual(detectRelease({ env: { GITHUB_SHA: '   ' }, cwd }), { release: '2.0.1', source: 'package.json' });
});

test('then the commit checked out there, read with git', (t) => {
  const cwd = tempDir(t);
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'a',
        GIT_AUTHOR_EMAIL: 'a@b',
        GIT_COMMITTER_NAME: 'a',
        GIT_COMMITTER_EMAIL: 'a@b',
      },
    }).trim();
  git('init', '-q');
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'no-version' }));
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  t.deepEqual(detectRelease({ env: { PATH: process.env.PATH }, cwd }), {
    release: git('rev-parse', 'HEAD'),
    source: 'git',
  });
});

test('nothing found is no release, without an error; a git that is not there changes nothing', (t) => {
  const cwd = tempDir(t);
  t.is(detectRelease({ env: { PATH: process.env.PATH }, cwd }), null);
  writeFileSync(join(cwd, 'package.json'), '{ not json');
  // No git on this PATH: as on a slim production image.
  t.is(detectRelease({ env: { PATH: cwd }, cwd }), null);
});

test('release names are one trimmed line of at most 200 characters', (t) => {
  t.is(clean('  v1.2.3 '), 'v1.2.3');
  t.is(clean(''), null);
  t.is(clean('a\nb'), null);
  t.is(clean('x'.repeat(201)), null);
  t.is(clean(42), null);
});

test('an option comes before LOGTICKETS_RELEASE, which comes before detection; null means none', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ version: '1.4.0' }));
  const env = { LOGTICKETS_RELEASE: 'from-variable', LOGTICKETS_ENVIRONMENT: 'staging', NODE_ENV: 'production' };
  t.deepEqual(resolveDeployment({ release: '2.0.0', environment: 'eu-prod' }, { env, cwd }), {
    release: '2.0.0',
    environment: 'eu-prod',
  });
  t.deepEqual(resolveDeployment({}, { env, cwd }), { release: 'from-variable', environment: 'staging' });
  t.deepEqual(resolveDeployment({}, { env: { NODE_ENV: 'production' }, cwd }), {
    release: '1.4.0',
    environment: 'production',
  });
  t.deepEqual(resolveDeployment({ release: null, environment: null }, { env, cwd }), {
    release: null,
    environment: null,
  });
  t.throws(() => resolveDeployment({ release: 'a\nb' }, { env, cwd }), { message: /options\.release/ });
  t.throws(() => resolveDeployment({ environment: 'x'.repeat(201) }, { env, cwd }), {
    message: /options\.environment/,
  });
});
