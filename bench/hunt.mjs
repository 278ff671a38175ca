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
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpus } from 'node:os';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** One `firebreak hunt` run (every SigmaHQ collection unless `rules` says otherwise), JSON lines to /dev/null. */
function hunt(inputs, threads, rules = RULES) {
  const args = [BIN, 'hunt', ...inputs, ...rules.flatMap((r) => ['--rules', r]), '--format', 'jsonl', '--output', '/dev/null'];
  const started = performance.now();
  const run = spawnSync(process.execPath, [...args, '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 30,
  });
  if (run.status !== 0) throw new Error(`firebreak hunt exited with ${run.status}: ${run.stderr.slice(-2000)}`);
  return figures(run.stderr, (performance.now() - started) / 1000);
}

/** Events, detections, files, rules and peak RSS from a hunt's summary (stderr). */
function figures(stderr, seconds) {
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

// ---- Where the time goes: one thread, rule sets from nothing to all, loading subtracted ----------

const MIMIKATZ = join(DATA, 'sigma', 'rules', 'windows', 'builtin', 'win_alert_mimikatz_keywords.yml');
const sets = [
  ['one rule that fires on nothing (reading EVTX, the event model, hunting)', [ruleFile('nothing.yml', 'EventID: -1')]],
  ['every SigmaHQ collection without "Mimikatz Use" (keywords over every Windows value)', without(MIMIKATZ)],
  ['every SigmaHQ collection', RULES],
];
const { dir: middle, copies: middleCopies } = replicate(samples[0].events, 150_000);
const tiny = join(SAMPLES, 'Lateral Movement');
console.log(`\nOne thread on samples × ${middleCopies}, the same hunt on one folder subtracted (loading the rules, starting):\n`);
console.log('| rules | events | hunting seconds | events/s |');
console.log('| --- | --: | --: | --: |');
for (const [label, rules] of sets) {
  const full = hunt([middle], 1, rules);
  const start = hunt([tiny], 1, rules);
  const seconds = full.seconds - start.seconds;
  console.log(`| ${label} | ${fmt(full.events - start.events)} | ${seconds.toFixed(2)} | ${fmt((full.events - start.events) / seconds)} |`);
}

// ---- Flow control: a reader that pauses must not make memory grow -------------------------------

const every = ruleFile('every-event.yml', 'EventID|gte: 0');
console.log(`\nA rule that fires on every event, samples × ${middleCopies}, two threads, JSON lines to a pipe:\n`);
console.log('| reader of the output | detections | peak RSS MB |');
console.log('| --- | --: | --: |');
for (const pauseMs of [0, 20_000]) {
  const r = await huntIntoPipe([middle], [every], pauseMs);
  console.log(`| ${pauseMs ? `waits ${pauseMs / 1000} s, then reads` : 'reads at once'} | ${fmt(r.detections)} | ${fmt(r.rssMb)} |`);
}

/** A one-selection rule on every Windows event, written under bench/.work. */
function ruleFile(name, selection) {
  const path = join(WORK, name);
  mkdirSync(WORK, { recursive: true });
  const [field, value] = selection.split(': ');
  writeFileSync(
    path,
    `title: bench ${name}\nid: ${name === 'every-event.yml' ? '0b6f7c2e-7a55-4f7e-9a52-1d0f1c8e0a01' : '0b6f7c2e-7a55-4f7e-9a52-1d0f1c8e0a02'}\n` +
      `status: test\nlevel: low\nlogsource: { product: windows }\ndetection:\n  selection:\n    ${field}: ${value}\n  condition: selection\n`,
  );
  return path;
}

/** The SigmaHQ collections with one rule file left out (copied under bench/.work). */
function without(file) {
  const root = join(WORK, 'rules-without');
  if (!existsSync(join(root, 'done'))) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    for (const collection of RULES) copyTree(collection, join(root, relative(join(DATA, 'sigma'), collection)));
    rmSync(join(root, relative(join(DATA, 'sigma'), file)));
    mkdirSync(join(root, 'done'));
  }
  return RULES.map((collection) => join(root, relative(join(DATA, 'sigma'), collection)));
}

/** `firebreak hunt --threads 2` into a pipe this process starts reading after `pauseMs`. */
async function huntIntoPipe(inputs, rules, pauseMs) {
  const args = [BIN, 'hunt', ...inputs, ...rules.flatMap((r) => ['--rules', r]), '--format', 'jsonl', '--threads', '2'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.pause();
  await sleep(pauseMs);
  child.stdout.on('data', () => {});
  child.stdout.resume();
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`firebreak hunt exited with ${code}: ${stderr.slice(-2000)}`);
  return figures(stderr, NaN);
}
