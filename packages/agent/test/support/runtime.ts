/** Helpers for the agent runtime tests: waiting on a condition, cleanups in order, and (from testkit) a self-signed certificate. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

export { opensslSkip, selfSignedCertificate } from '@firebreak/testkit';

/** Waits until `condition` holds, failing with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Runs `cleanup` when the test ends: last registered first (an agent stops before its directory is
 * removed), and every one of them even when one fails.
 */
export function onCleanup(t: TestContext, cleanup: () => unknown): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const registered: (() => unknown)[] = [];
    cleanups.set(t, registered);
    t.after(async () => {
      const failures: unknown[] = [];
      for (const run of registered.reverse()) {
        try {
          await run();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    });
    stack = registered;
  }
  stack.push(cleanup);
}
