/** The files behind command-line inputs: links to files followed, links to folders not, nothing read that could wait forever. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listInputFiles, readEventFile, type ReadProblem } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-inputs-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The files listed for `paths` and the problems, both relative to the work folder. */
function list(...paths: string[]): { files: string[]; problems: string[] } {
  const problems: ReadProblem[] = [];
  const files = listInputFiles(paths, (p) => problems.push(p));
  const relative = (path: string): string => (path.startsWith(work) ? path.slice(work.length + 1) : path);
  return { files: files.map(relative), problems: problems.map((p) => `${relative(p.origin)}: ${p.message}`) };
}

test('symbolic links to files inside folders are listed; links to folders are reported, not followed', () => {
  const logs = join(work, 'links');
  const elsewhere = join(work, 'elsewhere');
  mkdirSync(join(logs, 'sub'), { recursive: true });
  mkdirSync(elsewhere);
  writeFileSync(join(logs, 'real.jsonl'), '{"a":1}\n');
  writeFileSync(join(logs, 'sub', 'nested.jsonl'), '{"a":2}\n');
  writeFileSync(join(elsewhere, 'target.evtx'), '{"a":3}\n');
  symlinkSync(join(elsewhere, 'target.evtx'), join(logs, 'a.evtx'));
  symlinkSync(logs, join(logs, 'loop'));
  symlinkSync(join(work, 'missing'), join(logs, 'broken.evtx'));
  const { files, problems } = list(logs);
  assert.deepEqual(files, ['links/a.evtx', 'links/real.jsonl', 'links/sub/nested.jsonl']);
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(
    problems.find((p) => p.startsWith('links/broken.evtx'))!,
    /^links\/broken\.evtx: broken symbolic link \(ENOENT.*\); skipped$/,
  );
  assert.equal(
    problems.find((p) => p.startsWith('links/loop')),
    'links/loop: symbolic link to a folder; not followed',
  );
  // A link named on the command line is followed, to a file or to a folder.
  assert.deepEqual(list(join(logs, 'a.evtx'), join(logs, 'loop', 'sub')).files, ['links/a.evtx', 'links/loop/sub/nested.jsonl']);
});

test('a FIFO found in a folder, or a device, is reported and skipped, never opened', () => {
  const logs = join(work, 'special');
  mkdirSync(logs);
  writeFileSync(join(logs, 'real.jsonl'), '{"a":1}\n');
  execFileSync('mkfifo', [join(logs, 'pipe.jsonl')]);
  symlinkSync(join(logs, 'pipe.jsonl'), join(logs, 'link-to-pipe.jsonl'));
  // Opening either FIFO would wait for a writer that never comes: listing returns at once.
  assert.deepEqual(list(logs), {
    files: ['special/real.jsonl'],
    problems: ['special/link-to-pipe.jsonl: symbolic link to a FIFO; skipped', 'special/pipe.jsonl: not a regular file (a FIFO); skipped'],
  });
  assert.deepEqual(list('/dev/null'), { files: [], problems: ['/dev/null: not a regular file (a device); skipped'] });
});

test('a pipe named on the command line is listed and read, as process substitution hands a log over', async () => {
  const pipe = join(work, 'named.pipe');
  execFileSync('mkfifo', [pipe]);
  assert.deepEqual(list(pipe), { files: ['named.pipe'], problems: [] });
  // The writer's open waits for the reader; the pipe is opened once, read to its end, and not probed before.
  const writing = writeFile(pipe, '{"EventID":1}\n{"EventID":2}\n');
  const problems: ReadProblem[] = [];
  const ids = [];
  for await (const event of readEventFile(pipe, (p) => problems.push(p))) ids.push(event.fields.get('EventID'));
  await writing;
  assert.deepEqual([ids, problems], [[1, 2], []]);
});
