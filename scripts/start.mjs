#!/usr/bin/env node
// `npm start`: until the server exists, run the CLI's most useful jobs on real evidence.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/cli/bin/firebreak.js');
const shared = process.env.FIREBREAK_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const samples = join(shared, 'evtx-attack-samples');
const sigmahq = ['rules', 'rules-emerging-threats', 'rules-threat-hunting'].map((c) => join(shared, 'sigma', c));
const out = join(root, 'firebreak-data');
const rel = (path) => relative(process.cwd(), path) || '.';

/** The `fires` and `quiet` events of every rule-pack test, one JSON object per line. */
function writeDemoEvents() {
  const events = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yml')) {
        const spec = load(readFileSync(path, 'utf8')) ?? {};
        for (const event of [...(spec.fires ?? []), ...(spec.quiet ?? [])]) if (typeof event === 'object') events.push(event);
      }
    }
  };
  walk(join(root, 'packages/rules/tests'));
  mkdirSync(out, { recursive: true });
  const demo = join(out, 'demo-events.jsonl');
  writeFileSync(demo, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return demo;
}

function firebreak(...args) {
  console.log(`\n$ firebreak ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
}

firebreak('--help');
if (!existsSync(samples)) {
  // No shared sample logs: hunt the events the bundled rules are tested with (3CX-style side-loading,
  // LSASS access, lateral movement…), written out as JSON lines.
  const demo = writeDemoEvents();
  console.log(`\nNo sample logs at ${shared}; hunting the bundled rule pack's test events instead.`);
  firebreak('hunt', rel(demo), '--sort');
  firebreak('metrics', rel(demo), 'eids');
  console.log(`\nPoint Firebreak at your own logs:\n  npx firebreak hunt path/to/logs/\n  npx firebreak metrics path/to/logs/ eids`);
  process.exit(0);
}
// The bundled rule pack on ~270 real attack logs: what a responder sees first.
firebreak('hunt', rel(samples));
firebreak('metrics', rel(join(samples, 'Lateral Movement')), 'eids');
if (sigmahq.every(existsSync)) {
  mkdirSync(out, { recursive: true });
  const report = join(out, 'hunt-report.html');
  firebreak('hunt', rel(samples), ...sigmahq.flatMap((r) => ['--rules', rel(r)]), '--format', 'html', '--output', rel(report));
  console.log(`\nOpen the report (self-contained, no network): ${report}`);
}
console.log(`\nNext: npx firebreak timeline --process-tree ${JSON.stringify(rel(join(samples, 'Lateral Movement')))} | less`);
