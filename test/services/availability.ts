/**
 * What a test file does when its real server cannot be had on this machine:
 * in CI (CI=true) that is a failure; elsewhere the file registers one test
 * that says in one line why the server's tests did not run.
 */

import type { TestFn } from 'ava';

export function serverAvailable(test: TestFn, server: string, reason: string | null): boolean {
  if (reason === null) return true;
  if (process.env.CI === 'true') {
    test(`${server} is available (required in CI)`, (t) => {
      t.fail(`${server} tests cannot run: ${reason}`);
    });
  } else {
    test(`${server} tests did not run: ${reason}`, (t) => {
      t.log(`${server} tests did not run: ${reason}`);
      t.pass();
    });
  }
  return false;
}
