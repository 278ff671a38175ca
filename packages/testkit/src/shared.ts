/**
 * Access to `../shared/data` (next to the repository root). Tests that need it skip with a
 * visible reason when it is absent, so a user's fresh clone still passes `npm test`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file is packages/testkit/dist/src/shared.js once built. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const SHARED_DATA = process.env.FIREBREAK_SHARED_DATA ?? join(REPO_ROOT, '..', 'shared', 'data');

/** `false` when the data is there, else the reason to skip (for `test(name, { skip }, fn)`). */
export function sharedSkip(relative: string): string | false {
  return existsSync(join(SHARED_DATA, relative)) ? false : `needs ${join(SHARED_DATA, relative)} (../shared is absent)`;
}

export function sharedPath(relative: string): string {
  return join(SHARED_DATA, relative);
}

/** Files under `dir` (recursively) whose name ends with `suffix`, sorted. */
export function findFiles(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry.endsWith(suffix)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}
