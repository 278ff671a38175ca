/** Talking to a Firebreak server's API from the command line: the connection options, calls and tables. */
import { printable } from '@firebreak/core';
import { CommandError, UsageError } from '../output.js';

export const CONNECTION_OPTIONS = `  --server URL         the Firebreak server (default http://127.0.0.1:8080)
  --token TOKEN        an API token (default: $FIREBREAK_TOKEN)`;

export const CONNECTION = { server: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export interface Connection {
  server: string;
  token: string;
}

export function connection(values: { server?: string; token?: string }): Connection {
  const token = values.token ?? process.env.FIREBREAK_TOKEN;
  if (!token) throw new UsageError('an API token is needed: --token TOKEN or FIREBREAK_TOKEN');
  return { server: (values.server ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''), token };
}

export async function call(connection: Connection, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${connection.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${connection.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new CommandError(
      `cannot reach ${connection.server}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`,
    );
  }
  const text = await response.text();
  if (!response.ok) throw new CommandError(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** A table sized to its cells, a header line first; control characters from event data are shown escaped, never sent to the terminal. */
export function printTable(header: string[], unsafeRows: string[][]): void {
  const rows = unsafeRows.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
}
