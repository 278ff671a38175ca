/** Reading the events of command-line paths for timeline and metrics, with warnings a responder can read. */
import { InputReader, printable, type FirebreakEvent } from '@firebreak/core';

/** Problems printed per file before the rest are only counted. */
const WARNINGS_PER_FILE = 5;

export interface InputHooks {
  /** Before each file's events. */
  onFile?: (file: string) => void;
  /** A problem met in that file (or with that path), warned of already. */
  onProblem?: (file: string) => void;
}

/**
 * Hands each event under `paths` to `use`; returns how many files were readable. Problems and
 * unreadable files are warnings on stderr (a few per file, then a count), and so is an event `use`
 * fails on: whatever a log holds, one event must not cost the rest. Warnings quote the logs (parse
 * errors, file names), so they are made printable.
 */
export async function eachEvent(paths: string[], use: (event: FirebreakEvent) => void, hooks: InputHooks = {}): Promise<number> {
  // Paths are all listed before the first file is read: a problem met then is about the path itself.
  let current = '';
  const counts = new Map<string, number>();
  const warn = (file: string, text: string): void => {
    hooks.onProblem?.(file);
    const count = (counts.get(file) ?? 0) + 1;
    counts.set(file, count);
    if (count <= WARNINGS_PER_FILE) process.stderr.write(`warning: ${printable(text)}\n`);
    else if (count === WARNINGS_PER_FILE + 1) process.stderr.write(`warning: ${printable(file)}: more problems, not shown\n`);
  };
  const inputs = new InputReader(paths, {
    onFile: (file) => {
      current = file;
      hooks.onFile?.(file);
    },
    onProblem: (p) => warn(current || p.origin, `${p.origin}: ${p.message}`),
    // The readers' messages usually name the file already.
    onFileError: (file, message) => warn(file, message.includes(file) ? message : `${file}: ${message}`),
  });
  for await (const event of inputs.events()) {
    try {
      use(event);
    } catch (error) {
      warn(event.file, `${event.origin}: event left out: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return inputs.readable;
}
