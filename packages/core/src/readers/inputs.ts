/** The files behind command-line inputs: files as given, folders searched recursively. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadProblem } from '../event-files.js';

/**
 * Every regular file under `paths`, in a stable order (each input's files sorted by path).
 * A path that does not exist or cannot be listed is reported and skipped; symbolic links to
 * folders are not followed (a link loop must not hang a hunt).
 */
export function listInputFiles(paths: readonly string[], onProblem: (p: ReadProblem) => void = () => {}): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      onProblem({ origin: path, message: (error as Error).message });
      continue;
    }
    if (!isDirectory) files.push(path);
    // One at a time: spreading a folder of a hundred thousand files into push() would overflow the stack.
    else for (const file of walk(path, onProblem).sort()) files.push(file);
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
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
