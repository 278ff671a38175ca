/**
 * The executor with real processes and a real state directory, on what needs no nft: a refused
 * isolation (its values do not parse, so nothing reaches the kernel of the machine running the
 * test) and a blocked hash killed on sight.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ActionParams, CommandPayload, ProcessInfo } from '@firebreak/core';
import { Executor, type ExecutorOptions } from '../src/executor.js';
import { ExecutableHasher, ProcSampler } from '../src/host/proc.js';
import { AgentState } from '../src/runtime/state.js';

const skip = process.platform === 'linux' ? false : 'needs /proc';

function executorOn(state: AgentState, options: Partial<ExecutorOptions> = {}): Executor {
  return new Executor({
    state,
    hasher: new ExecutableHasher(),
    server: { address: '127.0.0.1', port: 9 },
    hostname: 'web-1',
    sendEvidence: () => undefined,
    reportBlockedExecution: () => undefined,
    log: () => undefined,
    ...options,
  });
}

function isolateCommand(params: ActionParams['isolate']): CommandPayload {
  const now = Date.now();
  return {
    id: `cmd-${now}-${Math.random()}`,
    actionId: 1,
    agentId: 'agt-1',
    type: 'isolate',
    params,
    issuedAt: now,
    expiresAt: now + 60_000,
  };
}

test('an isolation refused by its own parameters is not remembered: a restart does not try it again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-executor-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const state = await AgentState.open(dir);
  const executor = executorOn(state);
  t.after(() => executor.stop());
  const refused: [ActionParams['isolate'], RegExp][] = [
    [{ allow: [{ address: '10.1.2.3/8' }], allowDns: false }, /allow\[0\]\.address: .* has bits set after its \/8 prefix/],
    [{ allowDns: false, probe: { address: 'c2.example', port: 443 } }, /isolate probe\.address: "c2\.example" is not an IP address/],
  ];
  for (const [params, error] of refused) {
    const result = await executor.execute(isolateCommand(params));
    assert.equal(result.status, 'failed');
    assert.match(result.error ?? '', error);
    assert.equal(state.isolation, null, 'the refused policy is not the one in force');
    assert.equal(executor.isolated, false);
    assert.equal((await AgentState.open(dir)).isolation, null, 'nor on disk for the next start');
  }
});

test('a process whose executable hash is blocked is killed on sight and reported; another is left alone', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-executor-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A copy of sleep with bytes appended: a hash of its own, blocked; sleep itself is not.
  const blockedImage = join(dir, 'helper');
  await copyFile('/bin/sleep', blockedImage);
  await appendFile(blockedImage, `firebreak test ${Math.random()}`);
  const blockedHash = createHash('sha256')
    .update(await readFile(blockedImage))
    .digest('hex');
  const state = await AgentState.open(join(dir, 'state'));
  await state.setBlocks({ sha256: [blockedHash], addresses: [], domains: [] });
  const reports: { process: ProcessInfo; killed: boolean }[] = [];
  const executor = executorOn(state, { reportBlockedExecution: (process, killed) => reports.push({ process, killed }) });
  await executor.restore();
  t.after(() => executor.stop());

  const blocked = spawn(blockedImage, ['30'], { stdio: 'ignore' });
  const allowed = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  t.after(() => allowed.kill('SIGKILL'));
  const blockedExit = new Promise<NodeJS.Signals | null>((resolve) => blocked.once('exit', (_code, signal) => resolve(signal)));
  await new Promise((resolve) => setTimeout(resolve, 100)); // both have exec'd
  const sampler = new ProcSampler({
    hostname: 'web-1',
    intervalMs: 60_000,
    hasher: new ExecutableHasher(),
    onEvents: () => undefined,
    onProcess: (process) => executor.onProcess(process),
  });
  await sampler.sampleOnce();
  assert.equal(await blockedExit, 'SIGKILL');
  const deadline = Date.now() + 2000;
  while (reports.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(
    reports.map((r) => [r.process.pid, r.process.sha256, r.killed]),
    [[blocked.pid, blockedHash, true]],
  );
  assert.equal(allowed.exitCode, null, 'a process of another hash still runs');
  assert.equal(allowed.signalCode, null);
});
