/** Helpers for the host telemetry tests: real child processes, waiting for them, hashes computed apart. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** SHA-256 of a file's bytes, read here and now (not through the code under test). */
export function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Waits until `condition` resolves true, failing with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The executable a pid runs now, or null when it is gone. */
export async function exeOf(pid: number): Promise<string | null> {
  return readlink(`/proc/${pid}/exe`).catch(() => null);
}

/** Starts `command` and waits until the child runs it (spawn returns before the exec). */
export async function startProgram(command: string, args: string[], options: SpawnOptions = {}): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore', ...options });
  const expected = realpathSync(command);
  await waitFor(async () => (await exeOf(child.pid!)) === expected, `${command} to start`);
  return child;
}

/** Starts a node script that prints `ready` once set up; resolves then. */
export async function startNodeScript(script: string, options: SpawnOptions = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], ...options });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => line === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`script exited with ${code} before it was ready`)));
  });
  return child;
}

/** Kills a child and waits for it to be gone. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), parsed here. */
export function startTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/** When the machine booted (ms), from /proc/stat's btime (whole seconds). */
export function bootTime(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))![1]) * 1000;
}
