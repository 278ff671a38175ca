/**
 * File helpers the host modules share: hashing a file streamed from one open handle, the tail of a
 * log, the accounts of /etc/passwd, and telling "it went away" from a real failure.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';

/**
 * Errors that mean the thing read is gone or not there to read: a process that exited between two
 * reads, a file removed meanwhile, a kernel thread without an executable. Callers skip those.
 */
export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EINVAL';
}

/** `action`'s result, or `fallback` when what it reads is gone; other errors propagate. */
export async function unlessGone<T, F>(action: () => Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await action();
  } catch (error) {
    if (isGone(error)) return fallback;
    throw error;
  }
}

const HASH_CHUNK = 1024 * 1024;

/** SHA-256 (hex) of an open file's bytes from offset 0, read in chunks (memory stays at one chunk). */
export async function sha256OfHandle(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK);
  for (let position = 0; ;) {
    const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

/**
 * Opens a file to read it; null when it is gone. Without blocking: a path that names a FIFO (where
 * a file was expected, or given by a command) must not hang its reader until someone writes.
 */
export function openToRead(path: string): Promise<FileHandle | null> {
  return unlessGone(() => open(path, constants.O_RDONLY | constants.O_NONBLOCK), null);
}

const TAIL_BLOCK = 64 * 1024;

/**
 * The last `count` lines of a file, read backwards from its end in blocks (a log of gigabytes costs
 * only its tail); [] when the file does not exist.
 */
export async function tailLines(path: string, count: number): Promise<string[]> {
  if (count <= 0) return [];
  const handle = await openToRead(path);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const blocks: Buffer[] = [];
    let newlines = 0;
    let position = size;
    // One newline more than lines wanted: the first line kept must be whole.
    while (position > 0 && newlines <= count) {
      const length = Math.min(TAIL_BLOCK, position);
      position -= length;
      const block = Buffer.alloc(length);
      await handle.read(block, 0, length, position);
      blocks.unshift(block);
      for (const byte of block) if (byte === 0x0a) newlines++;
    }
    const lines = Buffer.concat(blocks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // Unless the file was read from its start, the first piece is the end of a cut line.
    if (position > 0) lines.shift();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** An account of /etc/passwd. */
export interface Account {
  name: string;
  uid: number;
  home: string;
}

/** The accounts of a passwd file; lines that are not `name:x:uid:gid:gecos:home:shell` are passed over. */
export function parsePasswd(text: string): Account[] {
  const accounts: Account[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split(':');
    if (parts.length < 7 || line.startsWith('#')) continue;
    const uid = Number(parts[2]);
    if (parts[0] === '' || !Number.isSafeInteger(uid)) continue;
    accounts.push({ name: parts[0]!, uid, home: parts[5]! });
  }
  return accounts;
}

/** User names by uid from /etc/passwd, read again only when the file changed. */
export class UserNames {
  private names = new Map<number, string>();
  private loadedMtime = -1;

  constructor(private readonly passwdPath = '/etc/passwd') {}

  /** Reloads the names when the file changed since the last look. */
  async refresh(): Promise<void> {
    const info = await unlessGone(() => stat(this.passwdPath), null);
    const mtime = info?.mtimeMs ?? 0;
    if (mtime === this.loadedMtime) return;
    const text = await unlessGone(() => readFile(this.passwdPath, 'utf8'), '');
    const names = new Map<number, string>();
    // The first entry of a uid wins, as getpwuid answers.
    for (const account of parsePasswd(text)) if (!names.has(account.uid)) names.set(account.uid, account.name);
    this.names = names;
    this.loadedMtime = mtime;
  }

  /** The name of `uid`, or the number as text for a uid without an account. */
  name(uid: number): string {
    return this.names.get(uid) ?? String(uid);
  }

  /** The name of `uid` when it has an account. */
  known(uid: number): string | undefined {
    return this.names.get(uid);
  }
}
