/** kill_process on real processes: this test's children and their descendants, read back from /proc. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { killProcess, processStartTime, readProcStat } from '../src/enforce/kill.js';

const skip = process.platform === 'linux' ? false : 'reads /proc: Linux only';
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** A duration no other program on the machine is likely to sleep for: it marks this run's processes. */
const marker = `${100000 + Math.floor(Math.random() * 100000)}.${process.pid}`;

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Live (not zombie) `sleep` processes with this argument. */
function sleepers(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const [command, argument] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return command.endsWith('sleep') && argument === text && readProcStat(Number(pid))?.state !== 'Z';
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const exited = (child: ChildProcess): Promise<NodeJS.Signals | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.signalCode)
    : new Promise((resolve) => child.once('exit', (_, signal) => resolve(signal)));

test('kills the process named by pid and start time, and verifies it is gone', { skip }, async () => {
  const child = start('sleep', [marker]);
  await waitFor(() => sleepers(marker).includes(child.pid!), 'sleep to start');
  const startTime = processStartTime(child.pid!)!;
  const outcome = await killProcess({ pid: child.pid!, startTime });
  assert.deepEqual(outcome.killed, [child.pid]);
  assert.deepEqual(outcome.verification, [{ name: `process ${child.pid} gone`, ok: true, detail: undefined }]);
  assert.equal(await exited(child), 'SIGKILL');
});

test('refuses a pid whose start time differs (a reused pid) and leaves that process alone', { skip }, async () => {
  const child = start('sleep', [marker]);
  await waitFor(() => sleepers(marker).includes(child.pid!), 'sleep to start');
  const startTime = processStartTime(child.pid!)!;
  await assert.rejects(
    killProcess({ pid: child.pid!, startTime: startTime - 1 }),
    new RegExp(`pid ${child.pid} now belongs to another process \\(start time ${startTime}, expected ${startTime - 1}\\)`),
  );
  assert.equal(readProcStat(child.pid!)?.startTime, startTime, 'still running');
  child.kill('SIGKILL');
  await exited(child);
});

test('kills a whole tree, a process that keeps forking included', { skip }, async () => {
  // A shell that starts a sleeper every 10 ms, and a subshell with sleepers of its own.
  const script = `(sleep ${marker} & sleep ${marker} & wait) & while :; do sleep ${marker} & sleep 0.01; done`;
  const root = start('sh', ['-c', script]);
  await waitFor(() => sleepers(marker).length >= 8, 'the tree to grow');
  const outcome = await killProcess({ pid: root.pid!, startTime: processStartTime(root.pid!)!, tree: true });
  assert.ok(outcome.killed.includes(root.pid!));
  assert.ok(outcome.killed.length >= 9, `killed ${outcome.killed.length}`);
  assert.deepEqual(
    outcome.verification.filter((check) => !check.ok),
    [],
  );
  assert.deepEqual(sleepers(marker), [], 'no process of the tree survives');
  assert.equal(await exited(root), 'SIGKILL');
});

test('without tree, only the process itself is killed', { skip }, async () => {
  const root = start('sh', ['-c', `sleep ${marker} & wait`]);
  await waitFor(() => sleepers(marker).length >= 1, 'the child sleeper');
  const [sleeper] = sleepers(marker);
  const outcome = await killProcess({ pid: root.pid!, startTime: processStartTime(root.pid!)! });
  assert.deepEqual(outcome.killed, [root.pid]);
  assert.deepEqual(sleepers(marker), [sleeper]);
  process.kill(sleeper, 'SIGKILL');
});

test('refuses pid 1, the agent, its ancestors, kernel threads, bad input and missing processes', { skip }, async () => {
  const refusals: [number, RegExp][] = [
    [1, /refusing pid 1: it is pid 1, the agent or one of the agent's ancestors/],
    [process.pid, /the agent or one of the agent's ancestors/],
    [process.ppid, /the agent or one of the agent's ancestors/],
  ];
  for (const [pid, message] of refusals) await assert.rejects(killProcess({ pid, startTime: processStartTime(pid)! }), message);
  if (readProcStat(2)?.state)
    await assert.rejects(killProcess({ pid: 2, startTime: processStartTime(2)! }), /refusing pid 2: a kernel thread/);
  await assert.rejects(killProcess({ pid: 0, startTime: 1 }), /pid 0 is not a process id/);
  await assert.rejects(killProcess({ pid: 1.5, startTime: 1 }), /pid 1\.5 is not a process id/);
  await assert.rejects(killProcess({ pid: process.pid, startTime: -1 }), /start time -1 is not/);
  await assert.rejects(killProcess({ pid: 2 ** 22 + 1, startTime: 1 }), /no process 4194305/);
});
