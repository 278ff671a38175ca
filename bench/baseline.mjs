/**
 * Behaviour-baseline benchmark: memory of the baselines of a 10,000-host fleet running 200
 * applications (20–50 behaviours each), baseline look-ups per second ("is this behaviour known for
 * this application, and on how many of its hosts?"; target ≥ 200,000/s), and the drift detector's
 * observe() throughput on generated Sysmon telemetry (packages/testkit/src/supply-chain-telemetry.ts).
 *
 *   node bench/baseline.mjs [--hosts 10000] [--apps 200] [--everywhere] [--lookups 2000000] [--event-hosts 200]
 *
 * A fifth of the applications run on every host, the rest on 5–90 % of them; --everywhere puts every
 * application on every host (the upper bound).
 *
 * (after `npx tsc -b`). Memory is V8's heap used plus ArrayBuffers (typed arrays live outside the
 * heap) after a full GC, with the baselines built minus without: what the baselines themselves hold.
 * The script re-runs itself with --expose-gc for that.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BehaviorBaselines, DriftDetector, moduleWhat } from '../packages/core/dist/src/index.js';
import { seededRandom, supplyChainScenario } from '@firebreak/testkit';

if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '10000' },
    apps: { type: 'string', default: '200' },
    lookups: { type: 'string', default: '2000000' },
    'event-hosts': { type: 'string', default: '200' },
    everywhere: { type: 'boolean', default: false },
  },
});
const HOSTS = Number(values.hosts);
const APPS = Number(values.apps);
const LOOKUPS = Number(values.lookups);
const EVENT_HOSTS = Number(values['event-hosts']);
const T0 = Date.UTC(2023, 1, 1);
const DAY = 86_400_000;

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

const random = seededRandom(0xba5e);
const randomInt = (low, high) => low + Math.floor(random() * (high - low + 1));
const hash = (text) => createHash('sha256').update(text).digest('hex');

/** V8's heap plus the ArrayBuffers outside it (host bitsets and per-host version tables are typed arrays). */
function memoryUsed() {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

/**
 * One application's behaviours: modules (name + hash + signer), destinations, children, file folders.
 * Most are common (seen on nearly every host running it); some are rare (a few hosts).
 */
function behaviorsOf(app) {
  const count = randomInt(20, 50);
  const list = [];
  for (let i = 0; i < count; i++) {
    const draw = random();
    const kind = draw < 0.4 ? 'module' : draw < 0.7 ? 'destination' : draw < 0.85 ? 'child' : 'file';
    const common = random() < 0.75;
    const name =
      kind === 'module'
        ? `lib${app}-${i}.dll`
        : kind === 'destination'
          ? `svc${i}.vendor${app}.example.com`
          : kind === 'child'
            ? `helper${i}.exe`
            : `c:\\users\\*\\appdata\\roaming\\vendor${app}\\dir${i}`;
    list.push({ kind, name, sha256: kind === 'module' ? hash(`${app}:${i}`) : null, common });
  }
  return list;
}

// ---- Build the fleet's baselines --------------------------------------------------------------------------

const before = memoryUsed();
const buildStart = performance.now();
const baselines = new BehaviorBaselines();
const queries = [];
let pairs = 0;
let sightings = 0;
for (let a = 0; a < APPS; a++) {
  // A fifth of the applications run everywhere (browser, office, agent); the rest on 5–90 % of the hosts.
  const share = values.everywhere || a < APPS / 5 ? 1 : 0.05 + random() * 0.85;
  const app = baselines.app({ key: `vendor${a}|product${a}`, vendor: `Vendor ${a}`, product: `Product ${a}` }, T0);
  const versions = Array.from({ length: randomInt(1, 3) }, (_, v) => `${a}.${v}.0`);
  const behaviors = behaviorsOf(a);
  const hosts = [];
  for (let host = 0; host < HOSTS; host++) if (share === 1 || random() < share) hosts.push(host);
  pairs += hosts.length;
  for (const host of hosts) {
    const version = app.noteProcess(host, versions[host % versions.length], T0 + (host % 7) * DAY).version;
    for (const b of behaviors) {
      // Rare behaviours: on about 1 % of the application's hosts.
      if (!b.common && random() >= 0.01) continue;
      const time = T0 + (host % 7) * DAY;
      if (b.kind === 'module') app.recordModule(b.name, { sha256: b.sha256, signer: `Vendor ${a}`, valid: true }, host, version, time);
      else if (b.kind === 'destination') app.recordDestination(b.name, false, 443, host, version, time);
      else app.record(b.kind, b.name, host, version, time);
      sightings++;
    }
  }
  for (const b of behaviors) queries.push([app.key, b.kind, b.kind === 'module' ? moduleWhat(b.name, b.sha256) : b.name]);
  // As many look-ups of behaviours the application never showed.
  for (let i = 0; i < behaviors.length; i++) queries.push([app.key, 'destination', `new${i}.unknown-${a}.example`]);
}
const buildSeconds = (performance.now() - buildStart) / 1000;
const after = memoryUsed();
let behaviorCount = 0;
for (const app of baselines.apps()) behaviorCount += app.behaviors.size;

console.log(
  `Baselines: ${fmt(HOSTS)} hosts × ${fmt(APPS)} applications, ${fmt(behaviorCount)} behaviours (${fmt(behaviorCount / APPS)} per application)`,
);
console.log(`  host × application pairs      ${fmt(pairs)}`);
console.log(`  sightings recorded            ${fmt(sightings)} in ${buildSeconds.toFixed(1)} s (${fmt(sightings / buildSeconds)}/s)`);
const heap = after.heapUsed - before.heapUsed;
const buffers = after.arrayBuffers - before.arrayBuffers;
console.log(`  memory of the baselines       ${mb(heap + buffers)} MB (${mb(heap)} MB heap + ${mb(buffers)} MB typed arrays)`);
console.log(`  snapshot (JSON)               ${mb(Buffer.byteLength(JSON.stringify(baselines.toJSON())))} MB`);

// ---- Look-ups -----------------------------------------------------------------------------------------------

const order = Array.from({ length: 1 << 16 }, () => randomInt(0, queries.length - 1));
let known = 0;
let hostsSeen = 0;
const lookupStart = performance.now();
for (let i = 0; i < LOOKUPS; i++) {
  const [key, kind, what] = queries[order[i & 0xffff]];
  const view = baselines.lookup(key, kind, what);
  if (view.known) known++;
  hostsSeen += view.hosts;
}
const lookupSeconds = (performance.now() - lookupStart) / 1000;
console.log(`\nLook-ups ("known for this application? on how many of its hosts?"), ${fmt(LOOKUPS)} of them, half of unknown behaviours`);
console.log(
  `  ${fmt(LOOKUPS / lookupSeconds)} look-ups/s (target ≥ 200,000/s); ${fmt(known)} known, ${fmt(hostsSeen / Math.max(known, 1))} hosts on average`,
);

// ---- observe() on generated telemetry ---------------------------------------------------------------------------

const scenario = supplyChainScenario({ hosts: EVENT_HOSTS, trojanHosts: Math.max(1, Math.round(EVENT_HOSTS * 0.06)) });
const beforeDetector = memoryUsed();
const detector = new DriftDetector();
const batch = [];
let events = 0;
let alerts = 0;
let observeMs = 0;
const flush = () => {
  const started = performance.now();
  for (const event of batch) alerts += detector.observe(event).length;
  observeMs += performance.now() - started;
  events += batch.length;
  batch.length = 0;
};
for (const event of scenario.events()) {
  batch.push(event);
  if (batch.length === 100_000) flush();
}
flush();
const days = Math.round((scenario.end - scenario.start) / DAY);
console.log(
  `\nobserve() on generated Sysmon telemetry: ${fmt(EVENT_HOSTS)} hosts, ${days} days, ${fmt(events)} events (EventID 1/3/7/11/22)`,
);
const afterDetector = memoryUsed();
const detectorBytes = afterDetector.heapUsed + afterDetector.arrayBuffers - beforeDetector.heapUsed - beforeDetector.arrayBuffers;
console.log(
  `  ${fmt(events / (observeMs / 1000))} events/s; ${fmt(alerts)} alerts and revisions on ${scenario.trojanHosts.length} trojanized hosts`,
);
console.log(`  detector state afterwards     ${mb(detectorBytes)} MB (baselines, process table, DNS answers, episodes)`);
