/**
 * kill_process: a process is named by its pid and start time (/proc/PID/stat field 22), so a pid
 * the kernel gave to another process since is never hit. With `tree`, the descendants go too: all
 * are stopped before any is killed, so none can fork away in between.
 */
import type { VerificationCheck } from '@firebreak/core';
import { readFileSync, readdirSync } from 'node:fs';

/** The fields of /proc/PID/stat the agent uses. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T (stopped), X (dead), … */
  state: string;
  ppid: number;
  flags: number;
  /** Clock ticks since boot. */
  startTime: number;
}

export interface KillRequest {
  pid: number;
  /** /proc/PID/stat field 22 of the process meant: another start time means the pid was reused. */
  startTime: number;
  /** Kill the descendants too. */
  tree?: boolean;
}

export interface KillOutcome {
  /** The pids that were sent SIGKILL. */
  killed: number[];
  /** One check per process: gone (or a zombie) after the kill. */
  verification: VerificationCheck[];
}

const PF_KTHREAD = 0x00200000;
const VERIFY_TIMEOUT_MS = 2000;
const VERIFY_INTERVAL_MS = 10;

/**
 * /proc/PID/stat, or null when there is no such process. Synchronous on purpose: between this read
 * and the signal that follows it nothing else runs, which keeps the pid-reuse window as small as it gets.
 */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return parseStat(pid, text);
}

/** The start time of the process now at `pid` (to pin it before acting), or null when none runs. */
export function processStartTime(pid: number): number | null {
  return readProcStat(pid)?.startTime ?? null;
}

/**
 * Kills the process (and with `tree` its descendants) and verifies they are gone. Refuses (throws)
 * a pid that is not running, whose start time differs, pid 1, kernel threads, and the agent or any
 * of its ancestors.
 */
export async function killProcess(request: KillRequest): Promise<KillOutcome> {
  const { pid, startTime } = request;
  if (!Number.isSafeInteger(pid) || pid < 1) throw new Error(`kill_process: pid ${pid} is not a process id`);
  if (!Number.isSafeInteger(startTime) || startTime < 0) throw new Error(`kill_process: start time ${startTime} is not a /proc start time`);
  const target = readProcStat(pid);
  if (!target) throw new Error(`kill_process: no process ${pid}`);
  if (target.startTime !== startTime) {
    throw new Error(`kill_process: pid ${pid} now belongs to another process (start time ${target.startTime}, expected ${startTime})`);
  }
  const protectedPids = agentLineage();
  if (protectedPids.has(pid)) throw new Error(`kill_process: refusing pid ${pid}: it is pid 1, the agent or one of the agent's ancestors`);
  if (target.flags & PF_KTHREAD || target.ppid === 2) throw new Error(`kill_process: refusing pid ${pid}: a kernel thread`);

  const targets = request.tree ? stopTree(target, protectedPids) : [target];
  const killed = targets.filter((proc) => signalIfSame(proc, 'SIGKILL')).map((proc) => proc.pid);
  return { killed, verification: await verifyGone(targets) };
}

/**
 * Stops the process and all its descendants, scanning again until a scan finds no new one (a
 * process may fork between a scan and its SIGSTOP). Returns them all, the root first.
 */
function stopTree(root: ProcStat, protectedPids: Set<number>): ProcStat[] {
  const stopped = new Map<number, ProcStat>();
  let found = [root];
  while (found.length > 0) {
    for (const proc of found) if (signalIfSame(proc, 'SIGSTOP')) stopped.set(proc.pid, proc);
    const all = readAllStats();
    found = all.filter((proc) => stopped.has(proc.ppid) && !stopped.has(proc.pid) && !protectedPids.has(proc.pid));
  }
  // A root that exited by itself is still what the verification reports on.
  return stopped.size > 0 ? [...stopped.values()] : [root];
}

/** Sends a signal to the process if the pid still holds the same start time; false when it is gone. */
function signalIfSame(proc: ProcStat, signal: NodeJS.Signals): boolean {
  const current = readProcStat(proc.pid);
  if (!current || current.startTime !== proc.startTime) return false;
  try {
    process.kill(proc.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until each process has left /proc, or is a zombie, or its pid holds another process. */
async function verifyGone(targets: ProcStat[]): Promise<VerificationCheck[]> {
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  const isGone = (proc: ProcStat): boolean => {
    const current = readProcStat(proc.pid);
    return !current || current.startTime !== proc.startTime || current.state === 'Z' || current.state === 'X';
  };
  let remaining = targets.filter((proc) => !isGone(proc));
  while (remaining.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, VERIFY_INTERVAL_MS));
    remaining = remaining.filter((proc) => !isGone(proc));
  }
  return targets.map((proc) => {
    const left = remaining.includes(proc);
    return {
      name: `process ${proc.pid} gone`,
      ok: !left,
      detail: left ? `still running after ${VERIFY_TIMEOUT_MS} ms (state ${readProcStat(proc.pid)?.state ?? '?'})` : undefined,
    };
  });
}

/** Pid 1, the agent and its ancestors: what a kill must never hit. */
function agentLineage(): Set<number> {
  const lineage = new Set([1]);
  for (let pid = process.pid; pid > 0 && !lineage.has(pid);) {
    lineage.add(pid);
    pid = readProcStat(pid)?.ppid ?? 0;
  }
  return lineage;
}

function readAllStats(): ProcStat[] {
  const pids = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  return pids.map(readProcStat).filter((stat): stat is ProcStat => stat !== null);
}

/** Fields after the command name, which is in parentheses and may itself contain `)` and spaces. */
function parseStat(pid: number, text: string): ProcStat {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 of the stat line, so field N is fields[N - 3].
  return { pid, state: fields[0], ppid: Number(fields[1]), flags: Number(fields[6]), startTime: Number(fields[19]) };
}
