/**
 * Ingest benchmark: a `firebreak serve` process (SQLite, its default, or `--store URL`) with every
 * SigmaHQ rule in rules/, rules-emerging-threats/ and rules-threat-hunting/ plus the bundled pack,
 * fed over HTTP with the attack samples as evtx_dump JSON lines, replayed for DURATION seconds by
 * CLIENTS concurrent clients in batches of BATCH events.
 *
 *   node bench/ingest.mjs [--seconds 60] [--clients 4] [--batch 1000] [--rate EVENTS/S] [--threads N]
 *                         [--store postgres://…?schema=NAME]   (the schema is dropped at the end)
 *                         [--profile DIR]   (CPU profiles of the server's threads into DIR)
 *   (after `npx tsc -b`; or `npm run bench:ingest`)
 *
 * Prints first where an ingest thread's time goes (parsing, serialising, the rules, per event, on
 * this thread), then: events/s accepted and detected (sustained: from the first to the last acknowledged
 * batch, and until detection has caught up), 429s, the time from sending a batch to its probe
 * alert on the live feed (p50/p99; each batch carries one event a bench rule fires on), and the
 * server's peak RSS (VmHWM of the process, ingest threads included), the server's CPU time per
 * event (all threads, from /proc) and the load generator's own CPU time (it shares the machine).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { RuleMatcher, loadHuntRules, parseIngestBody } from '@firebreak/core';
import { flattenEvtxJson } from '@firebreak/evtx';
import { openStore } from '@firebreak/store';
// The record the server's ingest threads make of an event (an internal module: the bench measures it as is).
import { eventRecord } from '../packages/server/dist/src/detection/records.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.FIREBREAK_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data');
const SAMPLES = join(DATA, 'evtx-attack-samples');
const RULES = ['rules', 'rules-emerging-threats', 'rules-threat-hunting'].map((c) => join(DATA, 'sigma', c));
const WORK = join(ROOT, 'bench', '.work', 'ingest');
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'firebreak.js');
const TOKEN = 'fbk_bench-ingest-token';
const PROBE = 'firebreak-bench-probe-';
const PROBE_ID = new RegExp(`${PROBE}(\\d+)`);

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '1000' },
    store: { type: 'string' },
    threads: { type: 'string' },
    profile: { type: 'string' },
    rate: { type: 'string' },
  },
});
const SECONDS = Number(opts.seconds);
const CLIENTS = Number(opts.clients);
const BATCH = Number(opts.batch);
/** Offered load in events/s (paced sends); without it every client sends as fast as it is answered. */
const RATE = opts.rate === undefined ? undefined : Number(opts.rate);

if (!existsSync(SAMPLES)) {
  console.error(`needs ${SAMPLES} (../shared is absent)`);
  process.exit(1);
}
const fmt = (n) => Math.round(n).toLocaleString('en-US');

rmSync(WORK, { recursive: true, force: true });
mkdirSync(join(WORK, 'probe-rule'), { recursive: true });
writeFileSync(
  join(WORK, 'probe-rule', 'probe.yml'),
  `title: Bench Probe\nid: 0b0e1c2d-0000-4000-8000-00000000b0b0\nlevel: low\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {CommandLine|startswith: '${PROBE}'}\n  condition: s\n`,
);

// The corpus: every sample record as evtx_dump JSON, one per line.
const evtxFiles = readdirSync(SAMPLES, { recursive: true })
  .filter((f) => f.endsWith('.evtx'))
  .map((f) => join(SAMPLES, f));
// A damaged sample is reported on stderr and the rest is dumped: the exit status is not the point here.
const corpus = spawnSync(process.execPath, [BIN, 'evtx', 'dump', ...evtxFiles], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] })
  .stdout.toString('utf8')
  .split('\n')
  .filter(Boolean);

function probeLine(n) {
  const time = new Date().toISOString();
  return JSON.stringify({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
        EventID: 1,
        TimeCreated: { '#attributes': { SystemTime: time } },
        EventRecordID: n,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: 'BENCH-PROBE',
      },
      EventData: { Image: 'C:\\bench\\probe.exe', CommandLine: `${PROBE}${n}`, UtcTime: time.replace('T', ' ').replace('Z', '') },
    },
  });
}

await printStages(corpus);

/**
 * Where an ingest thread's time goes, on this thread, per event of the corpus: what the server
 * does to every event before it is stored, stage by stage (best of five passes each).
 */
async function printStages(lines) {
  const body = lines.join('\n');
  const objects = lines.map((line) => JSON.parse(line));
  const context = { origin: 'bench', receivedAt: Date.now() };
  const { events } = parseIngestBody('evtx-json', body, context);
  const matcher = new RuleMatcher(loadHuntRules({ rules: [...RULES, join(ROOT, 'packages', 'rules', 'sigma')] }).ruleSet);
  const out = [];
  const records = events.map((event) => eventRecord(event, context.receivedAt));
  const store = await openStore({ dataDir: join(WORK, 'stages') });
  const stages = [
    ['JSON.parse of a line', () => lines.forEach((line) => JSON.parse(line))],
    ['flattening evtx_dump JSON to fields', () => objects.forEach((object) => flattenEvtxJson(object))],
    ['parsing a line into an event (all of the above, and the event)', () => parseIngestBody('evtx-json', body, context)],
    ['the record for the store (fields serialised)', () => events.forEach((event) => eventRecord(event, context.receivedAt))],
    ['every rule on the event', () => events.forEach((event) => ((out.length = 0), matcher.match(event, out)))],
    ['storing it in SQLite (main thread; batches of 1,000, a commit each)', () => storeAll(store, records)],
  ];
  console.log('| stage (one thread) | µs per event |');
  console.log('| --- | --: |');
  for (const [name, run] of stages) {
    let best = Infinity;
    for (let pass = 0; pass < 5; pass++) {
      const started = performance.now();
      await run();
      best = Math.min(best, performance.now() - started);
    }
    console.log(`| ${name} | ${((best * 1000) / lines.length).toFixed(1)} |`);
  }
  await store.close();
  console.log('');
}

async function storeAll(store, records) {
  for (let at = 0; at < records.length; at += 1000) await store.appendEvents(records.slice(at, at + 1000));
}

/** Batch bodies prepared once; the probe line is put first when a batch is sent. */
const bodies = [];
for (let at = 0; at + BATCH - 1 <= corpus.length; at += BATCH - 1) bodies.push(corpus.slice(at, at + BATCH - 1).join('\n') + '\n');

const server = spawn(
  process.execPath,
  [
    ...(opts.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(opts.profile)] : []),
    BIN,
    'serve',
    '--data',
    join(WORK, 'data'),
    '--listen',
    '127.0.0.1:0',
    ...[...RULES, join(ROOT, 'packages', 'rules', 'sigma'), join(WORK, 'probe-rule')].flatMap((r) => ['--rules', r]),
    ...(opts.store ? ['--store', opts.store] : []),
    ...(opts.threads ? ['--threads', opts.threads] : []),
  ],
  { env: { ...process.env, FIREBREAK_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] },
);
let serverLog = '';
const url = await new Promise((resolvePromise, reject) => {
  server.stderr.on('data', (chunk) => {
    serverLog += chunk;
    const match = /serving on (http:\/\/\S+)/.exec(serverLog);
    if (match) resolvePromise(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${serverLog}`)));
});
const rulesLine = /(\d[\d,]*) rules in use/.exec(serverLog)?.[1] ?? '?';
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 2 });

function request(method, path, body) {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method, agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolvePromise({ status: res.statusCode, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// Probe alerts from the live feed: the time from sending the batch to its alert.
const sentAt = new Map();
const latencies = [];
http.get(`${url}/api/v1/live`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
  let buffer = '';
  res.on('data', (chunk) => {
    // Split once per chunk (linear): a slow reader is disconnected by the server, and its probes lost.
    const messages = (buffer + chunk).split('\n\n');
    buffer = messages.pop();
    for (const message of messages) {
      const probe = message.startsWith('id:') && message.includes('event: alert') ? message.match(PROBE_ID) : null;
      const sent = probe && sentAt.get(Number(probe[1]));
      if (sent) latencies.push(performance.now() - sent);
    }
  });
});

/** CPU seconds (user + system) the server has used, all threads. */
const serverCpu = () => {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const peakRss = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
let accepted = 0;
let throttled = 0;
let probes = 0;
const started = performance.now();
const stopAt = started + SECONDS * 1000;
let lastAck = started;
const cpuAtStart = serverCpu();
const clientCpuAtStart = process.cpuUsage();

async function client(lane) {
  const interval = RATE ? (CLIENTS * BATCH * 1000) / RATE : 0;
  let slot = started + (lane * interval) / CLIENTS;
  for (let i = lane; performance.now() < stopAt; i += CLIENTS) {
    if (RATE) {
      await sleep(Math.max(0, slot - performance.now()));
      slot += interval;
    }
    const n = ++probes;
    const body = probeLine(n) + '\n' + bodies[i % bodies.length];
    sentAt.set(n, performance.now());
    const res = await request('POST', '/api/v1/ingest?format=evtx-json', body);
    if (res.status === 429) {
      throttled++;
      await sleep(Number(res.headers['retry-after'] ?? 1) * 100);
      continue;
    }
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${res.text}`);
    accepted += JSON.parse(res.text).accepted;
    lastAck = performance.now();
  }
}
await Promise.all(Array.from({ length: CLIENTS }, (_, lane) => client(lane)));
const sendSeconds = (lastAck - started) / 1000;

// Detection catches up on what was accepted.
let stats;
for (;;) {
  stats = JSON.parse((await request('GET', '/api/v1/stats')).text);
  if (stats.detection.queued === 0) break;
  await sleep(100);
}
const detectedSeconds = (performance.now() - started) / 1000;
await sleep(500);
const rss = peakRss();
const cpuUsed = serverCpu() - cpuAtStart;
const clientCpu = process.cpuUsage(clientCpuAtStart);
server.kill('SIGTERM');
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(`machine: ${cpus().length} × ${cpus()[0].model}, Node ${process.version}`);
console.log(`store: ${stats.store.kind}; rules in use: ${rulesLine}; corpus: ${fmt(corpus.length)} sample records as evtx_dump JSON lines`);
console.log(
  `${CLIENTS} clients, batches of ${BATCH} events, ${SECONDS} s, ${RATE ? `offered ${fmt(RATE)} events/s` : 'as fast as answered'}\n`,
);
console.log(
  '| accepted events | accepted events/s | detected events/s | alerts | 429 answers | probe alert p50 ms | p99 ms | probes seen | peak RSS MB | server CPU µs/event | client CPU s |',
);
console.log('| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
console.log(
  `| ${fmt(accepted)} | ${fmt(accepted / sendSeconds)} | ${fmt(stats.detection.detected / detectedSeconds)} | ${fmt(stats.detection.alerts)} | ${fmt(throttled)} | ${fmt(pct(50))} | ${fmt(pct(99))} | ${fmt(latencies.length)}/${fmt(probes - throttled)} | ${fmt(rss)} | ${fmt((cpuUsed * 1e6) / stats.detection.detected)} | ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(1)} |`,
);
await dropBenchSchema();
process.exit(0);

/** A PostgreSQL store given with `?schema=…` is the bench's own: its tables go when it ends. */
async function dropBenchSchema() {
  const schema = opts.store && new URL(opts.store).searchParams.get('schema');
  if (!schema) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client(opts.store.split('?')[0]);
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
  await client.end();
}
