/**
 * Hunt benchmark, end to end: `firebreak hunt` (read, normalise, every SigmaHQ rule in rules/,
 * rules-emerging-threats/ and rules-threat-hunting/) over ../shared/data/evtx-attack-samples, then
 * over the same files replicated to at least 1,000,000 events, to show that memory stays flat.
 *
 *   node bench/hunt.mjs         (after `npx tsc -b`; or `npm run bench:hunt`)
 *
 * Each run is a fresh `firebreak hunt … --format jsonl --output /dev/null` process; events, wall
 * time and peak RSS come from the summary it prints (peak RSS is the process's, worker threads
 * included). Replicas are hard links under bench/.work/, so they cost no disk.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.FIREBREAK_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data');
const SAMPLES = join(DATA, 'evtx-attack-samples');
const RULES = ['rules', 'rules-emerging-threats', 'rules-threat-hunting'].map((c) => join(DATA, 'sigma', c));
const WORK = join(ROOT, 'bench', '.work', 'hunt');
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'firebreak.js');
const TARGET_EVENTS = 1_000_000;

if (!existsSync(SAMPLES)) {
  console.error(`needs ${SAMPLES} (../shared is absent)`);
  process.exit(1);
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** One `firebreak hunt` run; figures parsed from its summary (stderr). */
function hunt(inputs, threads) {
  const args = [BIN, 'hunt', ...inputs, ...RULES.flatMap((r) => ['--rules', r]), '--format', 'jsonl', '--output', '/dev/null'];
  const started = performance.now();
  const run = spawnSync(process.execPath, [...args, '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 30,
  });
  if (run.status !== 0) throw new Error(`firebreak hunt exited with ${run.status}: ${run.stderr.slice(-2000)}`);
  const stderr = run.stderr;
  const seconds = (performance.now() - started) / 1000;
  const number = (pattern) => Number(stderr.match(pattern)?.[1].replaceAll(',', '') ?? NaN);
  return {
    events: number(/Events\s+([\d,]+)/),
    detections: number(/Detections\s+([\d,]+)/),
    files: number(/Files\s+([\d,]+) read/),
    rules: number(/Rules\s+([\d,]+) loaded/),
    rssMb: number(/peak memory ([\d,]+) MB/),
    seconds,
  };
}

/** Hard-linked copies of the samples until they hold at least `events` events. */
function replicate(eventsPerCopy, events) {
  const copies = Math.ceil(events / eventsPerCopy);
  const dir = join(WORK, `x${copies}`);
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    const base = join(WORK, 'base');
    mkdirSync(WORK, { recursive: true });
    if (!existsSync(base)) copyTree(SAMPLES, base);
    for (let i = 0; i < copies; i++) linkTree(base, join(dir, `copy-${i}`));
    mkdirSync(join(dir, 'done'));
  }
  return { dir: dir, copies };
}

function copyTree(from, to) {
  execFileSync('cp', ['-r', from, to]);
}

function linkTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) linkTree(source, join(to, entry.name));
    else linkSync(source, join(to, entry.name));
  }
}

function row(label, r) {
  const perCore = r.events / r.seconds / r.threads;
  return `| ${label} | ${r.threads} | ${fmt(r.files)} | ${fmt(r.events)} | ${fmt(r.detections)} | ${r.seconds.toFixed(2)} | ${fmt(r.events / r.seconds)} | ${fmt(perCore)} | ${fmt(r.rssMb)} |`;
}

console.log(`machine: ${cpus().length} × ${cpus()[0].model}, Node ${process.version}`);
console.log(`rules: ${RULES.map((r) => relative(DATA, r)).join(', ')}\n`);
console.log('| input | threads | files | events | detections | seconds | events/s | events/s per thread | peak RSS MB |');
console.log('| --- | --: | --: | --: | --: | --: | --: | --: | --: |');
const samples = [];
for (const threads of [1, 2]) {
  const r = { ...hunt([SAMPLES], threads), threads };
  samples.push(r);
  console.log(row('attack samples', r));
}
const { dir, copies } = replicate(samples[0].events, TARGET_EVENTS);
for (const threads of [1, 2]) console.log(row(`samples × ${copies}`, { ...hunt([dir], threads), threads }));
// One big file, as bench/evtx.mjs builds it: memory must not follow the file's size either.
const big = join(ROOT, 'bench', '.work', 'evtx-big-400k.evtx');
if (existsSync(big)) console.log(row('one 1.1 GB EVTX file', { ...hunt([big], 1), threads: 1 }));
else console.log(`(run bench/evtx.mjs first to add ${relative(ROOT, big)})`);
const size = statSync(join(WORK, 'base')).isDirectory() ? 'hard links, no extra disk' : '';
console.log(`\nreplicas: ${dir} (${size})`);
