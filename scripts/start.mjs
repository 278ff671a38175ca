#!/usr/bin/env node
// `npm start`: until the server exists, show the CLI and run it on real evidence.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/cli/bin/firebreak.js');
const shared = process.env.FIREBREAK_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const rule = join(shared, 'sigma/rules/windows/process_creation/proc_creation_win_dism_remove.yml');
const sample = join(
  shared,
  'evtx-json-pairs/rules/windows/process_creation/proc_creation_win_dism_remove/43e32da2-fdd0-4156-90de-50dfd62636f9.evtx',
);

function firebreak(...args) {
  console.log(`\n$ firebreak ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
}

firebreak('--help');
if (existsSync(sample)) {
  const path = relative(process.cwd(), sample);
  firebreak('evtx', 'dump', '--format', 'xml', path);
  firebreak('evtx', 'dump', path);
  if (existsSync(rule)) firebreak('rules', 'test', relative(process.cwd(), rule), path);
  console.log('\nTry it on your own logs: npx firebreak evtx dump Security.evtx | head');
  console.log(`Check a rule collection: npx firebreak rules check ${relative(process.cwd(), join(shared, 'sigma/rules'))} | tail`);
} else {
  console.log(`\nNo sample logs at ${shared}. Point it at your own:\n  npx firebreak evtx dump path/to/Security.evtx | head`);
}
