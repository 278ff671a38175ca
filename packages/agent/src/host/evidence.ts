/**
 * A collect_evidence bundle: what a responder, and the server's forensic verdict, need to know about
 * a process or a file on this host, read at once so the parts describe the same moment.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvidenceBundle, ProcessInfo } from '@firebreak/core';
import { openToRead, sha256OfHandle, tailLines, unlessGone } from './files.js';
import { collectPersistence } from './inventory.js';
import { listOpenFiles, listProcesses, listSockets, processInfo, type ExecutableHasher } from './proc.js';

/** The executable's content is sent up to this size; beyond, only its hash and attributes. */
export const EVIDENCE_CONTENT_LIMIT = 8 * 1024 * 1024;
const DEFAULT_AUTH_LOG_LINES = 200;
const DEFAULT_RECENT_MS = 60 * 60 * 1000;
/** The auth log as Debian-likes and Red Hat-likes name it. */
const AUTH_LOGS = ['var/log/auth.log', 'var/log/secure'];

export interface EvidenceOptions {
  agentId: string;
  hostname: string;
  /** The process asked about. */
  pid?: number;
  /** The file asked about (instead of the process's executable). */
  path?: string;
  /** Persistence changed since then (ms since the epoch) is listed apart; default: the last hour. */
  since?: number;
  hasher: ExecutableHasher;
  /** Lines of the auth log's end (default 200). */
  authLogLines?: number;
  /** Where the file system is mounted (default '/'): persistence and the auth log are read under it. */
  root?: string;
}

export async function collectEvidence(options: EvidenceOptions): Promise<EvidenceBundle> {
  const root = options.root ?? '/';
  const collectedAt = Date.now();
  const [processes, sockets, persistence, authLog] = await Promise.all([
    listProcesses({ hasher: options.hasher }),
    listSockets(),
    collectPersistence({ root, hasher: options.hasher }),
    authLogTail(root, options.authLogLines ?? DEFAULT_AUTH_LOG_LINES),
  ]);
  const target = options.pid === undefined ? null : (processes.find((p) => p.pid === options.pid) ?? null);
  const since = options.since ?? collectedAt - DEFAULT_RECENT_MS;
  const [ancestors, openFiles, executable] = await Promise.all([
    target ? ancestorsOf(target, options.hasher) : [],
    target ? listOpenFiles(target.pid) : [],
    executableEvidence(options.path ?? (target ? `/proc/${target.pid}/exe` : null), options.path ?? target?.image ?? ''),
  ]);
  return {
    agentId: options.agentId,
    hostname: options.hostname,
    collectedAt,
    process: target,
    ancestors,
    descendants: target ? descendantsOf(target, processes) : [],
    openFiles,
    sockets,
    executable,
    persistence,
    recentPersistence: persistence.filter((p) => p.mtime >= since),
    authLog,
    processes,
  };
}

/**
 * The parent, its parent, … up to pid 1, read directly: the lineage may leave the agent's network
 * namespace (`ip netns exec` runs in a shell of the machine's), and is still this process's story.
 */
async function ancestorsOf(p: ProcessInfo, hasher: ExecutableHasher): Promise<ProcessInfo[]> {
  const ancestors: ProcessInfo[] = [];
  const seen = new Set([p.pid]);
  for (let ppid = p.ppid; ppid > 0 && !seen.has(ppid);) {
    seen.add(ppid);
    const parent = await processInfo(ppid, { hasher });
    if (!parent) break;
    ancestors.push(parent);
    ppid = parent.ppid;
  }
  return ancestors;
}

/** Children, their children, … among `processes`, parents before their children. */
function descendantsOf(p: ProcessInfo, processes: ProcessInfo[]): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const q of processes) {
    const siblings = children.get(q.ppid);
    if (siblings) siblings.push(q);
    else children.set(q.ppid, [q]);
  }
  const out: ProcessInfo[] = [];
  const queue = [p.pid];
  for (let i = 0; i < queue.length; i++) {
    for (const child of children.get(queue[i]!) ?? []) {
      if (child.pid === p.pid || out.includes(child)) continue;
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/**
 * The file at `readPath` (for a process, /proc/PID/exe: the very file it runs, even deleted),
 * reported as `path`: its hash, size, mode, owner and, up to the limit, its content. One open
 * handle serves all, so they describe one file.
 */
async function executableEvidence(readPath: string | null, path: string): Promise<EvidenceBundle['executable']> {
  if (readPath === null) return null;
  const handle = await openToRead(readPath);
  if (!handle) return null;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return null;
    let content: Buffer | null = null;
    let sha256: string;
    if (info.size <= EVIDENCE_CONTENT_LIMIT) {
      content = await handle.readFile();
      sha256 = createHash('sha256').update(content).digest('hex');
    } else sha256 = await sha256OfHandle(handle);
    return {
      path,
      sha256,
      size: content?.length ?? info.size,
      mode: info.mode & 0o7777,
      uid: info.uid,
      contentBase64: content ? content.toString('base64') : null,
    };
  } finally {
    await handle.close();
  }
}

/** The auth log's last lines, of whichever of the two exists; [] with neither. */
async function authLogTail(root: string, lines: number): Promise<string[]> {
  for (const name of AUTH_LOGS) {
    const path = join(root, name);
    if (await unlessGone(() => stat(path), null)) return tailLines(path, lines);
  }
  return [];
}
