/** Evidence bundles about live processes of this machine and files of a tree built for the test. */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { collectEvidence, EVIDENCE_CONTENT_LIMIT } from '../src/host/evidence.js';
import { ExecutableHasher } from '../src/host/proc.js';
import { exeOf, sha256Of, startNodeScript, startProgram, stopChild, waitFor } from './support/host.js';

const skip = process.platform !== 'linux' ? '/proc is Linux only' : false;
const work = mkdtempSync(join(tmpdir(), 'firebreak-evidence-'));
const SLEEP = realpathSync('/bin/sleep');
const NODE = realpathSync(process.execPath);
let server: Server;
let port = 0;
const children: ChildProcess[] = [];

before(async () => {
  server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await Promise.all(children.map(stopChild));
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

function put(root: string, path: string, content: string): string {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** A tree with two cron files (one changed two hours ago, one now) and an auth log of 500 lines. */
function fakeRoot(name: string, authLog: string | null): string {
  const root = join(work, name);
  const old = put(root, 'etc/cron.d/old-job', '0 1 * * * root /usr/bin/true\n');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  utimesSync(old, twoHoursAgo, twoHoursAgo);
  put(root, 'etc/cron.d/new-job', '* * * * * root /tmp/.cache/beacon\n');
  if (authLog) put(root, authLog, Array.from({ length: 500 }, (_, i) => `Nov 30 10:00:00 host sshd[1]: line ${i + 1}`).join('\n') + '\n');
  return root;
}

test('evidence of a live process: it, its ancestors to pid 1, its descendants, open files, sockets, executable', { skip }, async () => {
  const opened = join(work, 'held open.txt');
  writeFileSync(opened, 'evidence');
  // A child holding a file and a connection open, with a `sleep` grandchild.
  const script = `
    const fd = require('fs').openSync(${JSON.stringify(opened)}, 'r');
    const sleep = require('child_process').spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    const socket = require('net').connect(${port}, '127.0.0.1', () => {
      const wait = setInterval(() => {
        try {
          if (require('fs').readlinkSync('/proc/' + sleep.pid + '/exe') !== ${JSON.stringify(SLEEP)}) return;
        } catch { return; }
        clearInterval(wait);
        console.log('ready');
      }, 10);
    });
    process.on('SIGTERM', () => { sleep.kill(); process.exit(0); });
    setInterval(() => fd, 1000);`;
  const child = await startNodeScript(script);
  children.push(child);
  const root = fakeRoot('live', 'var/log/auth.log');
  const bundle = await collectEvidence({
    agentId: 'agent-1',
    hostname: 'web-01',
    pid: child.pid!,
    hasher: new ExecutableHasher(),
    authLogLines: 3,
    root,
  });
  assert.equal(bundle.agentId, 'agent-1');
  assert.equal(bundle.hostname, 'web-01');
  assert.equal(bundle.process?.pid, child.pid);
  assert.equal(bundle.process?.image, NODE);
  assert.equal(bundle.process?.ppid, process.pid);
  assert.equal(bundle.ancestors[0]?.pid, process.pid, 'the parent first');
  assert.ok(
    bundle.ancestors.every((p, i) => i === 0 || p.pid === bundle.ancestors[i - 1]!.ppid),
    'each the parent of the one before',
  );
  const last = bundle.ancestors.at(-1)!;
  assert.ok(
    last.pid === 1 || last.ppid === 1 || (await exeOf(last.ppid)) === null,
    `the lineage goes up as far as /proc shows (ends at ${last.pid})`,
  );
  assert.deepEqual(
    bundle.descendants.map((p) => p.image),
    [SLEEP],
  );
  assert.equal(bundle.descendants[0]?.ppid, child.pid);
  assert.ok(
    bundle.openFiles.some((f) => f.pid === child.pid && f.target === opened),
    JSON.stringify(bundle.openFiles),
  );
  const connection = bundle.sockets.find((s) => s.state === 'ESTABLISHED' && s.remotePort === port && s.pid === child.pid);
  assert.ok(connection, "the child's connection, with its owner");
  // The executable, hashed here apart: node is larger than the content limit, so no content.
  const nodeSize = statSync(NODE).size;
  assert.ok(nodeSize > EVIDENCE_CONTENT_LIMIT);
  assert.deepEqual(bundle.executable, {
    path: NODE,
    sha256: sha256Of(NODE),
    size: nodeSize,
    mode: statSync(NODE).mode & 0o7777,
    uid: statSync(NODE).uid,
    contentBase64: null,
  });
  assert.deepEqual(
    bundle.recentPersistence.map((p) => p.path),
    ['/etc/cron.d/new-job'],
  );
  assert.deepEqual(
    bundle.persistence.map((p) => p.path),
    ['/etc/cron.d/new-job', '/etc/cron.d/old-job'],
  );
  assert.deepEqual(
    bundle.authLog,
    [498, 499, 500].map((n) => `Nov 30 10:00:00 host sshd[1]: line ${n}`),
  );
  assert.ok(bundle.processes.some((p) => p.pid === process.pid));
  assert.ok(Math.abs(bundle.collectedAt - Date.now()) < 60_000);
  await stopChild(child);
});

test('evidence of a small executable: its content, whether asked by process or by path', { skip }, async () => {
  const copy = join(work, 'vendor-updater');
  copyFileSync(SLEEP, copy);
  const child = await startProgram(copy, ['30']);
  children.push(child);
  const root = fakeRoot('small', 'var/log/secure');
  const byPid = await collectEvidence({ agentId: 'a', hostname: 'h', pid: child.pid!, hasher: new ExecutableHasher(), root, since: 0 });
  assert.equal(byPid.executable?.path, copy);
  assert.equal(byPid.executable?.sha256, sha256Of(SLEEP));
  assert.deepEqual(Buffer.from(byPid.executable!.contentBase64!, 'base64'), readFileSync(SLEEP));
  assert.equal(byPid.authLog.length, 200, 'the last 200 lines of /var/log/secure by default');
  assert.equal(byPid.authLog.at(-1), 'Nov 30 10:00:00 host sshd[1]: line 500');
  assert.equal(byPid.recentPersistence.length, 2, 'since 0: everything is recent');
  await stopChild(child);
  await waitFor(async () => (await exeOf(child.pid!)) === null, 'the child to be gone');

  const byPath = await collectEvidence({ agentId: 'a', hostname: 'h', path: copy, hasher: new ExecutableHasher(), root });
  assert.equal(byPath.process, null);
  assert.deepEqual(byPath.ancestors, []);
  assert.deepEqual(byPath.openFiles, []);
  assert.equal(byPath.executable?.sha256, sha256Of(copy));
  assert.equal(byPath.executable?.size, statSync(copy).size);
  assert.deepEqual(Buffer.from(byPath.executable!.contentBase64!, 'base64'), readFileSync(copy));
});

test('evidence about a process that is gone, on a host without an auth log', { skip }, async () => {
  const child = await startProgram('/bin/sleep', ['30']);
  await stopChild(child);
  const bundle = await collectEvidence({
    agentId: 'a',
    hostname: 'h',
    pid: child.pid!,
    hasher: new ExecutableHasher(),
    root: fakeRoot('gone', null),
  });
  assert.equal(bundle.process, null);
  assert.deepEqual([bundle.ancestors, bundle.descendants, bundle.openFiles, bundle.authLog], [[], [], [], []]);
  assert.equal(bundle.executable, null);
  assert.ok(bundle.processes.length > 0);
  const fifo = join(work, 'named-pipe');
  execFileSync('mkfifo', [fifo]);
  const aboutFifo = await collectEvidence({
    agentId: 'a',
    hostname: 'h',
    path: fifo,
    hasher: new ExecutableHasher(),
    root: fakeRoot('fifo', null),
  });
  assert.equal(aboutFifo.executable, null, 'a FIFO is no executable, and reading it does not wait for a writer');
});
