/**
 * The events of every file under command-line inputs, file after file, with damage kept local:
 * a file that cannot be read is reported and the next one is read.
 */
import { readEventFile, type ReadProblem } from '../event-files.js';
import type { FirebreakEvent } from '../event.js';
import { listInputFiles } from '../readers/inputs.js';

export interface InputHandlers {
  /** A damaged record, a bad line, a path that does not exist or cannot be listed. */
  onProblem(problem: ReadProblem): void;
  /** A file that could not be read at all, or stopped being readable part-way. */
  onFileError(file: string, message: string): void;
  /** Before each file's events. */
  onFile?(file: string): void;
}

/** Reads the events of `paths` (files, and folders recursively, in a stable order). */
export class InputReader {
  /** Files found. */
  files = 0;
  /** Files that failed before giving a single event. */
  unreadable = 0;

  constructor(
    private readonly paths: readonly string[],
    private readonly handlers: InputHandlers,
  ) {}

  /** Files that gave events, or were read to their end. */
  get readable(): number {
    return this.files - this.unreadable;
  }

  async *events(): AsyncGenerator<FirebreakEvent> {
    const { onProblem, onFileError, onFile } = this.handlers;
    for (const file of listInputFiles(this.paths, onProblem)) {
      this.files++;
      onFile?.(file);
      let given = 0;
      try {
        for await (const event of readEventFile(file, onProblem)) {
          given++;
          yield event;
        }
      } catch (error) {
        if (given === 0) this.unreadable++;
        onFileError(file, (error as Error).message);
      }
    }
  }
}
