/**
 * quarantine_file and restore_file: a file is moved into the agent's vault (a root-only directory),
 * unreadable there (mode 0), with its metadata next to it: SHA-256, original path, mode, owner. A
 * restore puts the same bytes back with the same mode and owner, never over a file that took its place.
 */
import type { VerificationCheck } from '@firebreak/core';
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { chmod, chown, copyFile, link, lstat, mkdir, open, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface VaultEntry {
  id: string;
  /** SHA-256 of the content, lower-case hex. */
  sha256: string;
  originalPath: string;
  /** Permission bits (setuid, setgid and sticky included). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** ms since the epoch. */
  quarantinedAt: number;
}

/** A vault action's entry and the checks that show it took. */
export interface VaultOutcome {
  entry: VaultEntry;
  verification: VerificationCheck[];
}

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Vault {
  constructor(readonly dir: string) {}

  /**
   * Moves the file into the vault. With `expectedSha256`, a file with other content is refused
   * (it is not what the command meant). Only regular files: a symlink is refused, not followed.
   */
  async quarantine(path: string, expectedSha256?: string): Promise<VaultOutcome> {
    if (!isAbsolute(path)) throw new Error(`quarantine: ${JSON.stringify(path)} is not an absolute path`);
    if (expectedSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(expectedSha256)) {
      throw new Error(`quarantine: expected sha256 ${JSON.stringify(expectedSha256)} is not 64 hex digits`);
    }
    const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`quarantine: cannot read ${path}: ${error.code ?? error.message}`);
    });
    if (!info.isFile()) throw new Error(`quarantine: ${path} is not a regular file`);
    const sha256 = await hashFile(path);
    if (expectedSha256 !== undefined && sha256 !== expectedSha256.toLowerCase()) {
      throw new Error(`quarantine: ${path} has sha256 ${sha256}, not the expected ${expectedSha256.toLowerCase()}; left in place`);
    }

    await this.prepare();
    const id = randomUUID();
    await moveFile(path, this.contentPath(id));
    await chmod(this.contentPath(id), 0o000);
    const vaultSha256 = await hashFile(this.contentPath(id));
    const entry: VaultEntry = {
      id,
      sha256: vaultSha256,
      originalPath: path,
      mode: info.mode & 0o7777,
      uid: info.uid,
      gid: info.gid,
      size: info.size,
      quarantinedAt: Date.now(),
    };
    await writeDurably(this.metadataPath(id), `${JSON.stringify(entry, null, 2)}\n`);
    const originalGone = !(await exists(path));
    return {
      entry,
      verification: [
        { name: 'vault copy sha256', ok: vaultSha256 === sha256, detail: vaultSha256 },
        { name: 'original path gone', ok: originalGone, detail: originalGone ? path : `${path} exists again` },
      ],
    };
  }

  /** Puts a quarantined file back where it was, with its mode and owner; refuses when something is at that path. */
  async restore(id: string): Promise<VaultOutcome> {
    if (!ID_PATTERN.test(id)) throw new Error(`restore: ${JSON.stringify(id)} is not a vault id`);
    const entry = await this.entry(id);
    const target = entry.originalPath;
    if (await exists(target)) throw new Error(`restore: ${target} exists; not overwritten (vault entry ${id} kept)`);
    if (!(await exists(dirname(target)))) throw new Error(`restore: the directory ${dirname(target)} is gone (vault entry ${id} kept)`);
    await placeExclusively(this.contentPath(id), target).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `restore: cannot put ${target} back (vault entry ${id} kept): ${error.code === 'EEXIST' ? 'a file appeared there' : error.message}`,
      );
    });
    // chown first: it clears setuid and setgid bits, which chmod then sets again.
    await chown(target, entry.uid, entry.gid);
    await chmod(target, entry.mode);
    const [restoredSha256, restored] = await Promise.all([hashFile(target), stat(target)]);
    if (restoredSha256 !== entry.sha256) {
      await unlink(target);
      throw new Error(
        `restore: ${target} came back with sha256 ${restoredSha256}, not ${entry.sha256}; removed again (vault entry ${id} kept)`,
      );
    }
    await unlink(this.contentPath(id));
    await unlink(this.metadataPath(id));
    const ownerKept = (restored.mode & 0o7777) === entry.mode && restored.uid === entry.uid && restored.gid === entry.gid;
    return {
      entry,
      verification: [
        { name: 'restored sha256', ok: true, detail: restoredSha256 },
        {
          name: 'mode and owner restored',
          ok: ownerKept,
          detail: `mode ${(restored.mode & 0o7777).toString(8)} uid ${restored.uid} gid ${restored.gid}`,
        },
      ],
    };
  }

  /** The vault's entries, oldest first; metadata files that cannot be read are listed as problems. */
  async list(): Promise<{ entries: VaultEntry[]; problems: { file: string; error: string }[] }> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const entries: VaultEntry[] = [];
    const problems: { file: string; error: string }[] = [];
    for (const name of names.filter((file) => file.endsWith('.json')).sort()) {
      try {
        entries.push(await this.entry(name.slice(0, -'.json'.length)));
      } catch (error) {
        problems.push({ file: join(this.dir, name), error: (error as Error).message });
      }
    }
    return { entries: entries.sort((a, b) => a.quarantinedAt - b.quarantinedAt), problems };
  }

  private async entry(id: string): Promise<VaultEntry> {
    const text = await readFile(this.metadataPath(id), 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new Error(error.code === 'ENOENT' ? `no vault entry ${id}` : `cannot read vault entry ${id}: ${error.message}`);
    });
    const entry = JSON.parse(text) as VaultEntry;
    const valid =
      entry?.id === id &&
      typeof entry.sha256 === 'string' &&
      typeof entry.originalPath === 'string' &&
      isAbsolute(entry.originalPath) &&
      [entry.mode, entry.uid, entry.gid, entry.size, entry.quarantinedAt].every(Number.isInteger);
    if (!valid) throw new Error(`vault entry ${id}: metadata is incomplete`);
    return entry;
  }

  /** The vault directory, root-only whatever it was before. */
  private async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (!(await lstat(this.dir)).isDirectory()) throw new Error(`vault: ${this.dir} is not a directory`);
    await chmod(this.dir, 0o700);
  }

  private contentPath(id: string): string {
    return join(this.dir, `${id}.bin`);
  }

  private metadataPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** rename(), or across file systems a synced copy and then the unlink of the original. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  const partial = `${to}.partial`;
  await copyFile(from, partial, constants.COPYFILE_EXCL);
  await syncFile(partial);
  await rename(partial, to);
  await syncFile(dirname(to));
  await unlink(from);
}

/** A link (or across file systems an exclusive copy): neither replaces a file that appeared at `to` meanwhile. */
async function placeExclusively(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  await copyFile(from, to, constants.COPYFILE_EXCL);
  await syncFile(to);
}

/** Written under a temporary name, synced, then renamed: a crash leaves the old file or the new one. */
async function writeDurably(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  await writeFile(partial, text, { mode: 0o600 });
  await syncFile(partial);
  await rename(partial, path);
  await syncFile(dirname(path));
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
