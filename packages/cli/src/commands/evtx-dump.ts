import { parseArgs } from 'node:util';
import { EvtxError, defaultThreads, readChunks, type EvtxWarning } from '@firebreak/evtx';
import { UsageError, parsePositiveInt, write } from '../output.js';

export const EVTX_DUMP_HELP = `Usage: firebreak evtx dump FILE... [--format jsonl|xml] [--threads N]

Prints every record of each EVTX file in file order.

Options:
  --format jsonl|xml  jsonl (default): one JSON object per line, in the evtx_dump
                      convention; xml: each record as Windows renders it
  --threads N         worker threads (default: all cores, ${defaultThreads()} here)
  -h, --help          show this help

Warnings (damaged chunks or records, checksum mismatches) go to stderr with the
file, chunk index and byte offset. Exit status: 0 when every file was read
(damaged parts skipped), 1 when a file could not be opened or is not EVTX,
2 for a usage error.`;

export async function evtxDump(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'jsonl' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    await write(process.stdout, EVTX_DUMP_HELP + '\n');
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('evtx dump needs at least one FILE');
  const format = values.format;
  if (format !== 'jsonl' && format !== 'xml') throw new UsageError(`--format must be jsonl or xml, got "${format}"`);
  const threads = parsePositiveInt(values.threads, '--threads') ?? defaultThreads();

  let failed = 0;
  for (const path of positionals) {
    try {
      for await (const result of readChunks(path, { mode: format, threads, utf8: true })) {
        for (const warning of result.warnings) await write(process.stderr, formatWarning(path, warning));
        if (result.utf8) await write(process.stdout, result.utf8);
      }
    } catch (error) {
      if (!(error instanceof EvtxError)) throw error;
      failed++;
      await write(process.stderr, `firebreak: ${error.message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

export function formatWarning(path: string, w: EvtxWarning): string {
  const where = w.chunk < 0 ? 'file header' : `chunk ${w.chunk}`;
  return `warning: ${path}: ${where}, offset 0x${w.offset.toString(16)} (${w.offset}): ${w.message}\n`;
}
