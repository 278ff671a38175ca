/** Ingest bodies of audit.log lines: records assembled into events as the file reader does, open ones flushed at the end of the body. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseIngestBody, readEventFile, type FirebreakEvent } from '../src/index.js';
import { MAX_AUDIT_LINE } from '../src/readers/auditd.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-ingest-auditd-'));
after(() => rmSync(work, { recursive: true, force: true }));

const context = { origin: 'http:auditbeat', receivedAt: Date.UTC(2024, 4, 1) };
const hex = (text: string): string => Buffer.from(text).toString('hex').toUpperCase();

const execRecords = (stamp: string, command: string[]): string[] => [
  `node=web-01 type=SYSCALL msg=audit(${stamp}): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=900 pid=901 auid=1000 uid=0 comm="${command[0]}" exe="/usr/bin/${command[0]}" key="exec"`,
  `node=web-01 type=EXECVE msg=audit(${stamp}): argc=${command.length} ${command.map((arg, i) => `a${i}="${arg}"`).join(' ')}`,
  `node=web-01 type=PROCTITLE msg=audit(${stamp}): proctitle=${hex(command.join('\0'))}`,
];

test('records sharing msg=audit(…) become one event, interleaved or not; a bad line is rejected by number and costs nothing else', async () => {
  const first = execRecords('1714557600.100:10', ['id']);
  const second = execRecords('1714557600.200:11', ['curl', '-o', '/tmp/x', 'http://example.com/x']);
  const lines = [first[0]!, second[0]!, 'type=SYSCALL no stamp here', first[1]!, second[1]!, first[2]!, 'garbage', second[2]!];
  const batch = parseIngestBody('auditd', lines.join('\n') + '\n', context);
  assert.deepEqual(batch.rejected, [
    { line: 3, error: 'not an audit record: no msg=audit(…) after the type' },
    { line: 7, error: 'not an audit record: no type=' },
  ]);
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.recordId, e.fields.get('type'), e.fields.get('proctitle')]),
    [
      ['http:auditbeat:1', 10, ['SYSCALL', 'EXECVE', 'PROCTITLE'], 'id'],
      ['http:auditbeat:2', 11, ['SYSCALL', 'EXECVE', 'PROCTITLE'], 'curl -o /tmp/x http://example.com/x'],
    ],
    'the events still open at the end of the body are handed out in the order they started',
  );
  const event = batch.events[0]!;
  assert.equal(event.file, 'http:auditbeat');
  assert.equal(event.host, 'web-01');
  assert.equal(event.timestamp, 1714557600100);
  assert.deepEqual(event.logsource, { product: 'linux', service: 'auditd' });

  // The file reader, which shares the assembly, reads the same events from the same lines.
  const path = join(work, 'audit.log');
  writeFileSync(path, lines.join('\n') + '\n');
  const fromFile: FirebreakEvent[] = [];
  for await (const e of readEventFile(path, () => {})) fromFile.push(e);
  assert.deepEqual(
    batch.events.map((e) => e.plainFields()),
    fromFile.map((e) => e.plainFields()),
  );
});

test('an EOE record ends its event there; a line longer than the limit is rejected; events do not cross bodies', () => {
  const records = execRecords('1714557601.000:12', ['ls']);
  const body = [records[0], `node=web-01 type=EOE msg=audit(1714557601.000:12): `, 'x'.repeat(MAX_AUDIT_LINE + 1), records[1]].join('\n');
  const batch = parseIngestBody('auditd', body, context);
  assert.deepEqual(batch.rejected, [{ line: 3, error: `line longer than ${MAX_AUDIT_LINE} characters` }]);
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.fields.get('type')]),
    [
      ['http:auditbeat:1', ['SYSCALL']],
      ['http:auditbeat:4', ['EXECVE']],
    ],
    'the EXECVE after the EOE starts an event of its own, flushed at the end of the body',
  );
  const next = parseIngestBody('auditd', records[2]!, context);
  assert.deepEqual(
    next.events.map((e) => [e.origin, e.fields.get('type')]),
    [['http:auditbeat:1', ['PROCTITLE']]],
  );
});
