/**
 * Warnings on stderr, the way every command prints them: made printable (log content and file
 * names may hold escape sequences), a few per file, the rest counted and told at the end.
 */
import { printable } from '@firebreak/core';

/** Warnings printed per file before the rest are only counted. */
const PER_FILE = 5;

export class FileWarnings {
  private readonly counts = new Map<string, number>();
  /** Every warning, printed or not. */
  total = 0;

  /** `beforeWrite`: e.g. erase a progress line first. */
  constructor(private readonly beforeWrite: () => void = () => {}) {}

  /** Warns of `message` about `file`, naming the file once (readers' messages often name it already). */
  warn(file: string, message: string): void {
    this.total++;
    const count = (this.counts.get(file) ?? 0) + 1;
    this.counts.set(file, count);
    if (count > PER_FILE) return;
    this.beforeWrite();
    process.stderr.write(`warning: ${printable(message.includes(file) ? message : `${file}: ${message}`)}\n`);
  }

  /** Tells how many warnings of each file were not shown. */
  finish(): void {
    for (const [file, count] of this.counts)
      if (count > PER_FILE) process.stderr.write(`warning: ${printable(file)}: ${count - PER_FILE} more warnings not shown\n`);
  }
}
