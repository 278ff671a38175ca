/** Reading the events of command-line paths for timeline and metrics, with warnings a responder can read. */
import { InputReader, type FirebreakEvent } from '@firebreak/core';
import { FileWarnings } from './warnings.js';

export interface InputHooks {
  /** Before each file's events. */
  onFile?: (file: string) => void;
  /** A problem met in that file (or with that path), warned of already. */
  onProblem?: (file: string) => void;
}

/**
 * Hands each event under `paths` to `use`; returns how many files were readable. Problems and
 * unreadable files are warnings on stderr (FileWarnings), and so is an event `use` fails on:
 * whatever a log holds, one event must not cost the rest.
 */
export async function eachEvent(paths: string[], use: (event: FirebreakEvent) => void, hooks: InputHooks = {}): Promise<number> {
  // Paths are all listed before the first file is read: a problem met then is about the path itself.
  let current = '';
  const warnings = new FileWarnings();
  const warn = (file: string, text: string): void => {
    hooks.onProblem?.(file);
    warnings.warn(file, text);
  };
  const inputs = new InputReader(paths, {
    onFile: (file) => {
      current = file;
      hooks.onFile?.(file);
    },
    onProblem: (p) => warn(current || p.origin, `${p.origin}: ${p.message}`),
    onFileError: (file, message) => warn(file, message),
  });
  for await (const event of inputs.events()) {
    try {
      use(event);
    } catch (error) {
      warn(event.file, `${event.origin}: event left out: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  warnings.finish();
  return inputs.readable;
}
