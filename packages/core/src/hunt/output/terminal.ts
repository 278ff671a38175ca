/** What a sink needs to know about a terminal it writes to. */
import type { Writable } from 'node:stream';

/**
 * Whether to colour output on `stream`: only a terminal, and never when NO_COLOR is set to
 * anything but the empty string (no-color.org). A `--no-color` flag is the caller's to add.
 */
export function useColor(stream: Writable, env: NodeJS.ProcessEnv = process.env): boolean {
  return isTerminal(stream) && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** Whether `stream` is a terminal (process.stdout on a TTY is a tty.WriteStream with `isTTY`). */
export function isTerminal(stream: Writable): boolean {
  return (stream as Writable & { isTTY?: boolean }).isTTY === true;
}

/** The terminal's width in columns, or undefined when `stream` is not a terminal. */
export function terminalWidth(stream: Writable): number | undefined {
  return isTerminal(stream) ? (stream as Writable & { columns?: number }).columns : undefined;
}
