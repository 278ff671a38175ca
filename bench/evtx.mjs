/**
 * EVTX reader benchmark: prints throughput (records/s, MB/s) and peak memory of @firebreak/evtx
 * in its three renderings, next to evtxexport (libevtx-utils) and, when present, python-evtx.
 *
 *   node bench/evtx.mjs        (after `npx tsc -b`; or `npm run bench:evtx`)
 *
 * Inputs are built under bench/.work/ from the real samples in ../shared/data/evtx-attack-samples
 * (override the `data` folder with FIREBREAK_SHARED_DATA): a corpus of copied sample files and
 * big single files made of the samples' chunks. Every figure comes from a fresh child process,
 * so peak RSS (the kernel's high-water mark) belongs to that one measurement alone. Each Firebreak
 * figure is the fastest of TIMED_PASSES passes after one untimed warm-up pass; MB are 2^20 bytes.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SCRIPT), '..');
const WORK = join(ROOT, 'bench', '.work');
const CORPUS_DIR = join(WORK, 'evtx-corpus');
const READER = join(ROOT, 'packages', 'evtx', 'dist', 'src', 'index.js');

const CORPUS_RECORDS = 100_000;
/** Big single files: the first gives throughput, both together show memory does not grow with size. */
const BIG_FILES = [
  { records: 100_000, path: join(WORK, 'evtx-big-100k.evtx') },
  { records: 400_000, path: join(WORK, 'evtx-big-400k.evtx') },
];
/** Timed passes per figure, fastest kept: a lone pass on a shared machine is easily disturbed. */
const TIMED_PASSES = 2;
const PYTHON = '/usr/bin/python3';
const PYTHON_SUBSET = 2_000;
const MB = 1024 * 1024;

const run = promisify(execFile);

async function main() {
  const reader = await loadReader();
  const samples = sampleFiles();
  const threads = availableParallelism();
  console.log(`# EVTX benchmark: Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${threads} threads`);

  const counts = await countAll(reader, samples);
  const sampleRecords = counts.reduce((a, b) => a + b, 0);
  if (sampleRecords === 0) fail(`the samples in ${sampleDir()} hold no records`);
  console.log(`samples: ${samples.length} files, ${fmt(sampleRecords)} records`);
  const corpus = buildCorpus(samples, counts);
  console.log(`corpus: ${fmt(corpus.files.length)} files, ${fmt(corpus.records)} records, ${mb(corpus.bytes)} MB in ${rel(CORPUS_DIR)}`);
  const big = [];
  for (const spec of BIG_FILES) {
    big.push(await buildBigFile(reader, samples, counts, spec));
    const b = big.at(-1);
    console.log(`big file: ${rel(b.path)}, ${fmt(b.chunks)} chunks, ${fmt(b.records)} records, ${mb(b.bytes)} MB`);
  }
  // Flush the freshly written GBs now, so disk writeback does not compete with the measurements.
  await run('sync', []);
  console.log(`load average before measuring: ${loadavg()[0].toFixed(2)} (figures are noisy if well above 0)`);

  const rows = await measureFirebreak(corpus, big, threads);
  const tools = await measureOtherTools(corpus, big);
  rows.push(...tools.rows);
  printTable(rows);
  printComparison(rows, tools.notes);
  console.log(`load average after measuring: ${loadavg()[0].toFixed(2)}`);
}

/** The built reader; a clear message rather than an import error when the build is missing. */
async function loadReader() {
  if (!existsSync(READER)) fail(`${rel(READER)} not found: build first (cd ${ROOT} && npx tsc -b)`);
  return import(pathToFileURL(READER).href);
}

function sampleDir() {
  const data = process.env.FIREBREAK_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data');
  return join(data, 'evtx-attack-samples');
}

/** Every .evtx under the samples folder, sorted so corpus and big files are the same on every run. */
function sampleFiles() {
  const dir = sampleDir();
  if (!existsSync(dir)) fail(`EVTX samples not found at ${dir}; set FIREBREAK_SHARED_DATA to the shared "data" folder`);
  const files = walk(dir).filter((f) => f.toLowerCase().endsWith('.evtx'));
  if (files.length === 0) fail(`no .evtx files under ${dir}`);
  return files.sort();
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Records per file, counted by the reader itself (record headers only, no rendering). */
async function countAll(reader, files) {
  const counts = [];
  for (const path of files) counts.push(await countRecords(reader, path));
  return counts;
}

async function countRecords(reader, path) {
  const file = await reader.EvtxFile.open(path);
  try {
    let n = 0;
    for await (const chunk of file.chunks()) n += chunk.locateRecords().length;
    return n;
  } finally {
    await file.close();
  }
}

/** Copies the samples round after round until the corpus holds CORPUS_RECORDS; rebuilt each run. */
function buildCorpus(samples, counts) {
  rmSync(CORPUS_DIR, { recursive: true, force: true });
  mkdirSync(CORPUS_DIR, { recursive: true });
  const files = [];
  let records = 0;
  for (let round = 0; records < CORPUS_RECORDS; round++) {
    samples.forEach((sample, i) => {
      const copy = join(CORPUS_DIR, `${pad(round, 2)}-${pad(i, 3)}-${basename(sample).replace(/[^\w.-]+/g, '_')}`);
      copyFileSync(sample, copy);
      files.push(copy);
      records += counts[i];
    });
  }
  return { files, records, bytes: totalSize(files), dir: CORPUS_DIR };
}

/**
 * One valid EVTX file made of the samples' chunks (each chunk is self-contained: its own string
 * and template tables), cycling through the samples until `spec.records` is reached. Zeroed or
 * foreign slots are left out; the file header of the first sample is reused with its chunk
 * numbers, chunk count and CRC32 rewritten.
 */
async function buildBigFile(reader, samples, counts, spec) {
  const { FILE_HEADER_SIZE, CHUNK_SIZE } = reader;
  const header = Buffer.from(readFileSync(samples[0]).subarray(0, FILE_HEADER_SIZE));
  const fd = openSync(spec.path, 'w');
  let chunks = 0;
  try {
    writeSync(fd, Buffer.alloc(FILE_HEADER_SIZE));
    let records = 0;
    for (let i = 0; records < spec.records; i = (i + 1) % samples.length) {
      if (counts[i] === 0) continue;
      const bytes = readFileSync(samples[i]);
      for (let off = FILE_HEADER_SIZE; off + CHUNK_SIZE <= bytes.length; off += CHUNK_SIZE) {
        if (bytes.toString('latin1', off, off + 8) !== 'ElfChnk\0') continue;
        writeSync(fd, bytes, off, CHUNK_SIZE);
        chunks++;
      }
      records += counts[i];
    }
    if (chunks > 0xffff) fail(`big file needs ${chunks} chunks; the header's chunk count is 16-bit`);
    writeSync(fd, fileHeader(reader, header, chunks), 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  // Count again through the reader: proves the file reads back whole.
  return { ...spec, chunks, records: await countRecords(reader, spec.path), bytes: statSync(spec.path).size };
}

function fileHeader(reader, header, chunks) {
  header.writeBigUInt64LE(0n, 8); // first chunk number
  header.writeBigUInt64LE(BigInt(chunks - 1), 16); // last chunk number
  header.writeUInt16LE(chunks, 42);
  header.writeUInt32LE(0, 120); // flags: clean and not full, so no tool goes into recovery mode
  header.writeUInt32LE(reader.crc32(header, 0, 120), 124);
  return header;
}

/** Firebreak runs; each row is one child process. */
async function measureFirebreak(corpus, big, threads) {
  const [big100k, big400k] = big;
  const plan = [
    ['fields', 1, big100k],
    ['flat', 1, big100k],
    ['flat', threads, big100k],
    ['jsonl', 1, big100k],
    ['jsonl', threads, big100k],
    ['xml', 1, big100k],
    ['jsonl', 1, corpus],
    // Many small files: shows what starting a worker pool per file costs.
    ['jsonl', threads, corpus],
    ['flat', 1, big400k],
    ['jsonl', threads, big400k],
  ];
  const idle = await childRun({ idle: true });
  const rows = [{ name: 'Node + reader loaded, idle', input: '-', rssKB: idle.maxRssKB }];
  for (const [mode, t, input] of plan) {
    const target = input.dir ?? input.path;
    const r = await childRun({ mode, threads: t, target });
    rows.push({
      name: `Firebreak ${MODE_NAMES[mode]}, ${t === 1 ? '1 thread' : `${t} threads`}`,
      input: inputName(input),
      records: r.records,
      bytes: input.bytes,
      seconds: r.seconds,
      rssKB: r.maxRssKB,
      warnings: r.warnings,
      failures: r.failures,
      key: `${mode}/${t === 1 ? 1 : 'n'}/${inputName(input)}`,
    });
  }
  return rows;
}

const MODE_NAMES = { fields: 'flat view, lazy (3 fields read)', flat: 'flat view, all fields', jsonl: 'JSON', xml: 'XML' };

function inputName(input) {
  return input.dir ? `corpus (${fmt(input.files.length)} files)` : basename(input.path);
}

async function childRun(task) {
  const { stdout } = await run(process.execPath, [SCRIPT, '--child', JSON.stringify(task)], { maxBuffer: 16 * MB });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** Child process: one untimed pass (JIT warm-up), the timed passes, then the RSS high-water mark. */
async function child(task) {
  const reader = await loadReader();
  const result = { maxRssKB: 0 };
  if (!task.idle) {
    const files = statSync(task.target).isDirectory() ? readdirSync(task.target).map((f) => join(task.target, f)) : [task.target];
    await readAll(reader, files, task);
    result.seconds = Infinity;
    for (let pass = 0; pass < TIMED_PASSES; pass++) {
      const start = performance.now();
      Object.assign(result, await readAll(reader, files, task));
      result.seconds = Math.min(result.seconds, (performance.now() - start) / 1000);
    }
  }
  result.maxRssKB = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** Reads every file fully, touching the output so no rendering can be skipped. */
async function readAll(reader, files, { mode, threads }) {
  let records = 0;
  let warnings = 0;
  let failures = 0;
  let outputChars = 0;
  for (const path of files) {
    try {
      if (mode === 'fields') {
        records += await readFields(reader, path);
        continue;
      }
      for await (const chunk of reader.readChunks(path, { mode, threads })) {
        records += chunk.records;
        warnings += chunk.warnings.length;
        outputChars += chunk.text?.length ?? chunk.flat?.length ?? 0;
      }
    } catch {
      failures++;
    }
  }
  return { records, warnings, failures, outputChars };
}

const LAZY_FIELDS = ['EventID', 'Channel', 'Image'];

/** What a detection does with most events: build the flat view, read a few fields. */
async function readFields(reader, path) {
  let records = 0;
  let present = 0;
  for await (const record of reader.readEvtx(path)) {
    const fields = record.fields();
    for (const name of LAZY_FIELDS) if (fields.get(name) !== undefined) present++;
    records++;
  }
  if (present === 0 && records > 0) throw new Error(`${path}: no ${LAZY_FIELDS.join('/')} field in any record`);
  return records;
}

/**
 * Side by side, each tool as a user runs it: a fresh process per run, output discarded to
 * /dev/null, wall time from start to exit. evtxexport's records are counted in a separate,
 * untimed run (counting its output as it streams would slow it down).
 */
async function measureOtherTools(corpus, big) {
  const [big100k] = big;
  const rows = [];
  const notes = [];
  const threads = availableParallelism();
  for (const input of big) for (const t of [1, threads]) rows.push(await timeDump(input, t));
  if (await works('evtxexport', ['-V'])) {
    for (const input of [corpus, ...big]) {
      const files = input.files ?? [input.path];
      // GNU time costs an extra exec per file, so only the single-file run gets a peak RSS.
      const r = await timeEvtxexport(files, !input.files && existsSync(GNU_TIME));
      const counted = input.files ? { records: corpus.records } : await evtxexport(input.path, { count: true });
      rows.push({
        name: 'evtxexport (text), 1 process per file, to /dev/null',
        input: inputName(input),
        records: counted.records,
        bytes: input.bytes,
        seconds: r.seconds,
        rssKB: r.maxRssKB,
        failures: r.failures,
        files: files.length,
        key: `evtxexport/${inputName(input)}`,
      });
    }
  } else notes.push('evtxexport not installed (Debian: apt-get install libevtx-utils)');
  if (await works(PYTHON, ['-c', 'import Evtx'])) rows.push(await timePythonEvtx(big100k));
  else notes.push('python-evtx not installed (Debian: apt-get install python3-evtx); skipped');
  return { rows, notes };
}

const GNU_TIME = '/usr/bin/time';
const CLI = join(ROOT, 'packages', 'cli', 'bin', 'firebreak.js');

/** `firebreak evtx dump` end to end, as a user runs it: cold process, JSON lines to /dev/null. */
async function timeDump(input, threads) {
  const args = [process.execPath, CLI, 'evtx', 'dump', '--threads', String(threads), input.path];
  const r = await timed(existsSync(GNU_TIME) ? GNU_TIME : args[0], existsSync(GNU_TIME) ? ['-f', 'maxrss=%M', ...args] : args.slice(1));
  return {
    name: `firebreak evtx dump (JSON lines), ${threads === 1 ? '1 thread' : `${threads} threads`}, to /dev/null`,
    input: inputName(input),
    records: input.records,
    bytes: input.bytes,
    seconds: r.seconds,
    rssKB: r.maxRssKB || undefined,
    failures: r.code === 0 ? 0 : 1,
    key: `dump/${threads === 1 ? 1 : 'n'}/${inputName(input)}`,
  };
}

async function works(command, args) {
  try {
    await run(command, args);
    return true;
  } catch {
    return false;
  }
}

/** Runs evtxexport over every file in turn; failures are counted and the run goes on. */
async function timeEvtxexport(files, withTime) {
  let failures = 0;
  let maxRssKB = withTime ? 0 : undefined;
  const start = performance.now();
  for (const file of files) {
    const r = await evtxexport(file, { withTime });
    if (r.code !== 0) failures++;
    if (withTime) maxRssKB = Math.max(maxRssKB, r.maxRssKB);
  }
  return { failures, maxRssKB, seconds: (performance.now() - start) / 1000 };
}

const EVENT_HEADER = Buffer.from('\nEvent number');

/**
 * One evtxexport run: output to /dev/null, or, with `count`, its per-record "Event number"
 * headers counted as the output streams by (far larger than an exec buffer). GNU time, when
 * asked for, reports its peak RSS.
 */
function evtxexport(file, { withTime = false, count = false }) {
  if (!count) {
    const [command, args] = withTime ? [GNU_TIME, ['-f', 'maxrss=%M', 'evtxexport', file]] : ['evtxexport', [file]];
    return timed(command, args);
  }
  return new Promise((done) => {
    const proc = spawn('evtxexport', [file], { stdio: ['ignore', 'pipe', 'ignore'] });
    let records = 0;
    let tail = Buffer.alloc(0);
    proc.stdout.on('data', (data) => {
      // Keep the last bytes of the previous block so a header split across blocks still counts.
      const buf = Buffer.concat([tail, data]);
      for (let i = buf.indexOf(EVENT_HEADER); i >= 0; i = buf.indexOf(EVENT_HEADER, i + 1)) records++;
      tail = buf.subarray(Math.max(0, buf.length - EVENT_HEADER.length + 1));
    });
    proc.on('close', (code) => done({ records, code: code ?? -1 }));
  });
}

/** Runs a command with stdout to /dev/null; wall time, exit code and (under GNU time) peak RSS. */
function timed(command, args) {
  return new Promise((done) => {
    const devNull = openSync('/dev/null', 'w');
    const start = performance.now();
    const proc = spawn(command, args, { stdio: ['ignore', devNull, 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (data) => (stderr += data));
    proc.on('close', (code) => {
      closeSync(devNull);
      const rss = /maxrss=(\d+)/.exec(stderr);
      done({ seconds: (performance.now() - start) / 1000, code: code ?? -1, maxRssKB: rss ? Number(rss[1]) : 0 });
    });
  });
}

/** python-evtx is far slower: render the first PYTHON_SUBSET records to XML and extrapolate. */
const PYTHON_CODE = `
import resource, sys, time
from Evtx.Evtx import Evtx
path, limit = sys.argv[1], int(sys.argv[2])
count = chars = 0
start = time.perf_counter()
with Evtx(path) as log:
    for record in log.records():
        chars += len(record.xml())
        count += 1
        if count >= limit:
            break
print(count, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
`;

async function timePythonEvtx(input) {
  const { stdout } = await run(PYTHON, ['-c', PYTHON_CODE, input.path, String(PYTHON_SUBSET)], { maxBuffer: MB });
  const [records, seconds, rssKB] = stdout.trim().split(/\s+/).map(Number);
  return {
    name: `python-evtx XML, first ${fmt(records)} records only (rate extrapolated)`,
    input: basename(input.path),
    records,
    seconds,
    rssKB,
    key: 'python',
  };
}

function printTable(rows) {
  console.log('\n| Measurement | Input | Records | MB | Seconds | Records/s | MB/s | Peak RSS MB |');
  console.log('|---|---|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    const rate = r.seconds ? r.records / r.seconds : undefined;
    const cells = [
      r.name,
      r.input,
      r.records === undefined ? '-' : fmt(r.records),
      r.bytes === undefined ? '-' : mb(r.bytes),
      r.seconds === undefined ? '-' : r.seconds.toFixed(2),
      rate === undefined ? '-' : fmt(Math.round(rate)),
      r.bytes && r.seconds ? (r.bytes / MB / r.seconds).toFixed(1) : '-',
      r.rssKB ? mbOfKB(r.rssKB) : '-',
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

/** Speed ratios against evtxexport, plus anything that went wrong during the runs. */
function printComparison(rows, notes) {
  const byKey = new Map(rows.filter((r) => r.key).map((r) => [r.key, r]));
  const rate = (key) => {
    const r = byKey.get(key);
    return r?.seconds ? r.records / r.seconds : undefined;
  };
  const corpusName = rows.find((r) => r.input?.startsWith('corpus'))?.input;
  const bigName = basename(BIG_FILES[0].path);
  console.log('');
  const bigNames = BIG_FILES.map((f) => basename(f.path));
  for (const [label, ours, theirs] of [
    ...bigNames.flatMap((name) => [
      [`firebreak evtx dump, 1 thread, end to end, ${name}`, `dump/1/${name}`, `evtxexport/${name}`],
      [`firebreak evtx dump, all threads, end to end, ${name}`, `dump/n/${name}`, `evtxexport/${name}`],
    ]),
    ['reader JSON (1 thread, warm, in process), one big file', `jsonl/1/${bigName}`, `evtxexport/${bigName}`],
    ['reader JSON (1 thread, warm, in process), corpus', `jsonl/1/${corpusName}`, `evtxexport/${corpusName}`],
  ]) {
    const a = rate(ours);
    const b = rate(theirs);
    if (a && b) console.log(`vs evtxexport, ${label}: ${(a / b).toFixed(1)}x`);
  }
  const py = rate('python');
  const xml = rate(`xml/1/${bigName}`);
  if (py && xml) {
    const records = byKey.get(`xml/1/${bigName}`).records;
    console.log(
      `Firebreak XML (1 thread) vs python-evtx XML: ${(xml / py).toFixed(0)}x (python-evtx est. ${fmt(Math.round(records / py))} s for ${bigName})`,
    );
  }
  for (const mode of ['flat/1', 'jsonl/n']) {
    const [small, large] = BIG_FILES.map((f) => byKey.get(`${mode}/${basename(f.path)}`));
    if (small && large) {
      console.log(
        `peak RSS, ${small.name}: ${fmt(small.records)} records ${mbOfKB(small.rssKB)} MB, ${fmt(large.records)} records ${mbOfKB(large.rssKB)} MB`,
      );
    }
  }
  for (const r of rows) {
    if (r.warnings) console.log(`note: ${r.name} on ${r.input}: ${fmt(r.warnings)} warnings`);
    if (r.failures && !r.key.startsWith('evtxexport/')) console.log(`note: ${r.name} on ${r.input}: ${fmt(r.failures)} failed files`);
  }
  for (const r of rows.filter((r) => r.key?.startsWith('evtxexport/'))) {
    console.log(`evtxexport failures on ${r.input}: ${fmt(r.failures)} of ${fmt(r.files)} files (nonzero exit status)`);
  }
  for (const note of notes) console.log(`note: ${note}`);
}

function totalSize(files) {
  return files.reduce((sum, f) => sum + statSync(f).size, 0);
}

function fmt(n) {
  return n.toLocaleString('en-US');
}

function mb(bytes) {
  return (bytes / MB).toFixed(1);
}

function mbOfKB(kb) {
  return (kb / 1024).toFixed(0);
}

function pad(n, width) {
  return String(n).padStart(width, '0');
}

function rel(path) {
  return path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path;
}

function fail(message) {
  console.error(`bench/evtx.mjs: ${message}`);
  process.exit(1);
}

// Last, so every module-level constant above is initialised before main() or child() uses it.
if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await main();
