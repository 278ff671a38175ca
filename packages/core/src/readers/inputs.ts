/** The files behind command-line inputs: files as given, folders searched recursively. */
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ReadProblem } from '../event-files.js';

/**
 * Every file to read under `paths`, in a stable order (each input's files sorted by path). A path
 * that does not exist or cannot be listed is reported and skipped.
 *
 * Only regular files are read, found directly or through a symbolic link; anything else is reported
 * and skipped, because reading a FIFO without a writer, or a terminal, waits forever. The one
 * exception is a pipe named on the command line: that is how process substitution
 * (`firebreak hunt <(zcat logs.gz)`) and `/dev/stdin` hand a log over, and naming one asks for it to
 * be read, as `cat` would (a named FIFO waits for its writer). Symbolic links to folders are not
 * followed (a link loop must not hang a hunt).
 */
export function listInputFiles(paths: readonly string[], onProblem: (p: ReadProblem) => void = () => {}): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch (error) {
      onProblem({ origin: path, message: (error as Error).message });
      continue;
    }
    if (stats.isFile() || stats.isFIFO()) files.push(path);
    // One at a time: spreading a folder of a hundred thousand files into push() would overflow the stack.
    else if (stats.isDirectory()) for (const file of walk(path, onProblem).sort()) files.push(file);
    else onProblem({ origin: path, message: `not a regular file (${kind(stats)}); skipped` });
  }
  return files;
}

function walk(dir: string, onProblem: (p: ReadProblem) => void): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    onProblem({ origin: dir, message: (error as Error).message });
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const file of walk(path, onProblem)) files.push(file);
    else if (entry.isFile() || isLinkToFile(entry, path, onProblem)) files.push(path);
    else if (!entry.isSymbolicLink()) onProblem({ origin: path, message: `not a regular file (${kind(entry)}); skipped` });
  }
  return files;
}

/** What a file that is neither a regular file nor a folder is. */
function kind(file: Dirent | Stats): string {
  if (file.isFIFO()) return 'a FIFO';
  if (file.isSocket()) return 'a socket';
  return file.isCharacterDevice() || file.isBlockDevice() ? 'a device' : 'of an unknown kind';
}

/** Whether `entry` is a symbolic link to a regular file; a link to anything else is reported. */
function isLinkToFile(entry: Dirent, path: string, onProblem: (p: ReadProblem) => void): boolean {
  if (!entry.isSymbolicLink()) return false;
  let target: Stats;
  try {
    target = statSync(path);
  } catch (error) {
    onProblem({ origin: path, message: `broken symbolic link (${(error as Error).message}); skipped` });
    return false;
  }
  if (target.isFile()) return true;
  const what = target.isDirectory() ? 'a folder; not followed' : `${kind(target)}; skipped`;
  onProblem({ origin: path, message: `symbolic link to ${what}` });
  return false;
}
