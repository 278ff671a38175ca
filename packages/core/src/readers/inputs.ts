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
    if (isDirectory) files.push(...walk(path, onProblem).sort());
    else files.push(path);
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
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path, onProblem);
    return entry.isFile() ? [path] : [];
  });
}
