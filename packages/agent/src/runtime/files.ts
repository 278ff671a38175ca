/**
 * Small file primitives the agent's state needs: private directories and files replaced atomically,
 * so a crash or power loss leaves either the old content or the new one, never half of each.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Creates `dir` (and its parents) and makes it private to the agent's user. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory as it was; the state holds the agent's secret.
  await chmod(dir, 0o700);
}

/** Flushes a directory's entries (a created, renamed or removed file) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data`: written to a temporary file (mode 0600) in the same directory, fsynced,
 * renamed over `path`, then the directory fsynced so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await syncDir(dirname(path));
}

/** True for a temporary file `writeFileAtomic` left behind when the agent died mid-write. */
export function isAtomicTemporary(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
