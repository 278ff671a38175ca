/** `firebreak evtx dump` end to end: the real binary, real files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findFiles, sharedPath, sharedSkip } from '@firebreak/testkit';
import { BIN, firebreak } from './support/cli.js';

const PAIR_DIR = 'evtx-json-pairs/rules/windows/process_creation/proc_creation_win_dism_remove';
const MULTI_CHUNK = 'evtx-attack-samples/Command and Control/bits_openvpn.evtx';
const work = mkdtempSync(join(tmpdir(), 'firebreak-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('jsonl prints the evtx_dump JSON object of each record, one per line', { skip: sharedSkip(PAIR_DIR) }, () => {
  const [evtx] = findFiles(sharedPath(PAIR_DIR), '.evtx');
  const result = firebreak('evtx', 'dump', evtx);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), JSON.parse(readFileSync(evtx.replace(/\.evtx$/, '.json'), 'utf8')));
});

test('xml prints Windows-style XML', { skip: sharedSkip(PAIR_DIR) }, () => {
  const [evtx] = findFiles(sharedPath(PAIR_DIR), '.evtx');
  const result = firebreak('evtx', 'dump', '--format', 'xml', '--threads', '1', evtx);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /<Data Name="Image">C:\\Windows\\System32\\Dism\.exe<\/Data>/);
  assert.match(result.stdout, /<Data Name="ProcessGuid">\{5aa13a44-d4f6-68fc-f430-000000004002\}<\/Data>/);
});

test('a damaged record is reported with file, chunk and offset; the rest is printed; exit 0', { skip: sharedSkip(MULTI_CHUNK) }, () => {
  const original = readFileSync(sharedPath(MULTI_CHUNK));
  const damaged = Buffer.from(original);
  const chunk1 = 4096 + 65536;
  damaged.writeUInt32LE(0xdeadbeef, chunk1 + 512); // first record signature of chunk 1
  const path = join(work, 'damaged.evtx');
  writeFileSync(path, damaged);

  const clean = firebreak('evtx', 'dump', sharedPath(MULTI_CHUNK)).stdout.trimEnd().split('\n');
  const result = firebreak('evtx', 'dump', '--threads', '2', path);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`warning: ${path.replaceAll('.', '\\.')}: chunk 1, offset 0x${(chunk1 + 512).toString(16)} `));
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, clean.length - 1, 'exactly the damaged record is missing');
  assert.ok(lines.every((line) => clean.includes(line)));
});

test('a file that is not EVTX fails clearly, and the other files are still dumped', { skip: sharedSkip(PAIR_DIR) }, () => {
  const [evtx] = findFiles(sharedPath(PAIR_DIR), '.evtx');
  const notEvtx = join(work, 'notes.txt');
  writeFileSync(notEvtx, 'just some text\n');
  const result = firebreak('evtx', 'dump', notEvtx, evtx);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /notes\.txt: not an EVTX file/);
  assert.equal(result.stdout.trimEnd().split('\n').length, 1);
});

test('a missing file and bad options fail with a clear message', () => {
  const missing = firebreak('evtx', 'dump', join(work, 'nope.evtx'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot open .*nope\.evtx/);

  const badFormat = firebreak('evtx', 'dump', '--format', 'csv', 'x.evtx');
  assert.equal(badFormat.status, 2);
  assert.match(badFormat.stderr, /--format must be jsonl or xml/);

  const badThreads = firebreak('evtx', 'dump', '--threads', '0', 'x.evtx');
  assert.equal(badThreads.status, 2);
  assert.match(badThreads.stderr, /--threads must be a positive integer/);
});

test('help lists the commands and their options', () => {
  const help = firebreak('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /evtx dump FILE\.\.\./);
  const dumpHelp = firebreak('evtx', 'dump', '--help');
  assert.match(dumpHelp.stdout, /--format jsonl\|xml/);
  assert.match(dumpHelp.stdout, /--threads N/);
  assert.equal(firebreak('frobnicate').status, 2);
});

test('more threads than chunks: all records, and the process exits', { skip: sharedSkip(MULTI_CHUNK) }, () => {
  const serial = firebreak('evtx', 'dump', '--threads', '1', sharedPath(MULTI_CHUNK));
  const result = spawnSync(process.execPath, [BIN, 'evtx', 'dump', '--threads', '16', sharedPath(MULTI_CHUNK)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 30_000,
  });
  assert.equal(result.signal, null, 'the process had to be killed: idle workers kept it alive');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, serial.stdout);
  assert.equal(result.stderr, '');
});
