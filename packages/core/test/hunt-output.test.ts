/** Output formats of a hunt: JSON lines, JSON, CSV and the terminal table, fed real and hostile detections. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Detection } from '../src/hunt/detection.js';
import {
  CSV_COLUMNS,
  createSink,
  displayWidth,
  MIN_TABLE_WIDTH,
  OUTPUT_FORMATS,
  useColor,
  write,
  type OutputFormat,
} from '../src/hunt/output/index.js';
import {
  asJson,
  detection,
  hostileDetections,
  huntSamples,
  LONG_VALUE,
  parseCsv,
  samplesSkip,
  summaryOf,
  TextCollector,
} from './support/hunt-output-fixtures.js';

/** Real detections when ../shared is there (tests that need them skip otherwise), hostile ones always. */
async function allDetections(): Promise<Detection[]> {
  return [...(samplesSkip ? [] : await huntSamples()), ...hostileDetections()];
}

async function render(format: OutputFormat, detections: readonly Detection[], options = {}): Promise<string> {
  const out = new TextCollector();
  const sink = createSink(format, out, options);
  for (const d of detections) await sink.write(d);
  await sink.end(summaryOf(detections));
  return out.text;
}

const ESC = '\x1b';

test('the sample hunt finds detections of several rules, levels and tactics', { skip: samplesSkip }, async () => {
  const real = await huntSamples();
  assert.ok(real.length >= 5, `${real.length} detections`);
  const titles = new Set(real.map((d) => d.rule_title));
  assert.ok(titles.has('Process Memory Dump Via Comsvcs.DLL'), [...titles].join(', '));
  assert.ok(titles.has('New Port Forwarding Rule Added Via Netsh.EXE'), [...titles].join(', '));
  assert.ok(new Set(real.map((d) => d.level)).size >= 2);
});

test('JSON lines: one detection per line, parsing back to the same detections', async () => {
  const detections = [...(await allDetections()), detection({ computer: 'lone \ud800 surrogate', fields: { Line: 'a\u2028b' } })];
  const text = await render('jsonl', detections);
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, detections.length);
  assert.deepEqual(
    lines.map((line) => JSON.parse(line)),
    detections.map(asJson),
  );
  assert.ok(text.includes('9223372036854775808'), '64-bit integers keep every digit');
});

test('JSON: one document with every detection and the summary; with no detection too', async () => {
  const detections = await allDetections();
  const document = JSON.parse(await render('json', detections));
  assert.deepEqual(Object.keys(document), ['detections', 'summary']);
  assert.deepEqual(document.detections, detections.map(asJson));
  assert.deepEqual(document.summary, asJson(summaryOf(detections)));
  assert.deepEqual(JSON.parse(await render('json', [])), { detections: [], summary: asJson(summaryOf([])) });
});

test('CSV: RFC 4180 that parses back to the same values, with formula cells defused', async () => {
  const detections = await allDetections();
  const text = await render('csv', detections);
  const [header, ...records] = parseCsv(text);
  assert.deepEqual(header, [...CSV_COLUMNS]);
  assert.equal(records.length, detections.length);
  /** Undoes the one escape: a leading ' was added before = + - @ tab CR LF and '. */
  const cellValue = (cell: string): string => (cell.startsWith("'") ? cell.slice(1) : cell);
  records.forEach((record, i) => {
    const d = detections[i]!;
    assert.equal(record.length, CSV_COLUMNS.length);
    CSV_COLUMNS.forEach((column, c) => {
      const value = d[column];
      const cell = cellValue(record[c]!);
      if (value === null) assert.equal(cell, '', column);
      else if (typeof value === 'number') assert.equal(Number(cell), value, column);
      else if (typeof value === 'string') assert.equal(cell, value, column);
      else assert.deepEqual(JSON.parse(cell), asJson(value), column);
    });
    for (const cell of record) assert.ok(!/^[=+\-@\t\r\n]/.test(cell), `a cell a spreadsheet would run as a formula: ${cell.slice(0, 40)}`);
  });
  const hostile = records[detections.length - 4]!;
  assert.equal(hostile[CSV_COLUMNS.indexOf('computer')], `'=HYPERLINK("http://127.0.0.1:9/x","click")`);
  assert.equal(hostile[CSV_COLUMNS.indexOf('status')], "''already quoted");
  assert.equal(parseCsv(await render('csv', [])).length, 1, 'no detection: the header alone');
});

test('table: a header once, rows that fit the width, no colour codes and no control characters when colour is off', async () => {
  const detections = await allDetections();
  for (const width of [MIN_TABLE_WIDTH, 120, 200]) {
    const lines = (await render('table', detections, { width, color: false })).split('\n');
    assert.equal(lines.pop(), '', 'ends with a line break');
    assert.equal(lines.length, detections.length + 1);
    assert.match(lines[0]!, /^Timestamp \(UTC\) +Level +Computer +Channel +EID +Rule +Details$/);
    assert.equal(lines.filter((l) => l.startsWith('Timestamp')).length, 1);
    for (const line of lines) {
      assert.ok(displayWidth(line) <= width, `${displayWidth(line)} > ${width}: ${line}`);
      assert.ok(
        ![...line].some((c) => c < ' ' || (c >= '\x7f' && c <= '\x9f') || c === '\u202e'),
        `a control character in: ${JSON.stringify(line)}`,
      );
    }
    if (width < 200) continue;
    const terminal = lines.find((l) => l.includes('Escape'))!;
    assert.ok(terminal.includes('\\u001b[2J'), `an escape sequence is shown, not run: ${terminal}`);
    assert.ok(terminal.includes('invoice\\u202etxt.exe'), terminal);
  }
});

test('table: the real detections show their time, level, computer, channel, event id, rule and fields', { skip: samplesSkip }, async () => {
  const real = await huntSamples();
  const lines = (await render('table', real, { width: 0 })).split('\n').slice(1, -1);
  lines.forEach((line, i) => {
    const d = real[i]!;
    assert.ok(line.startsWith(d.timestamp!.slice(0, 10) + ' ' + d.timestamp!.slice(11, 19)), line);
    for (const part of [
      d.computer!,
      d.channel!.replace('Microsoft-Windows-', '').replace('/Operational', ''),
      String(d.event_id),
      d.rule_title,
    ])
      assert.ok(line.includes(part), `${part} missing in ${line}`);
    for (const [name, value] of Object.entries(d.fields)) assert.ok(line.includes(`${name}: ${value}`), `${name} missing in ${line}`);
  });
});

test('table: nothing cut when the width is unlimited; colours by level when asked', async () => {
  const [, , terminal, long] = hostileDetections();
  const unlimited = await render('table', [long!], { width: 0 });
  assert.ok(unlimited.includes(LONG_VALUE), 'the whole value, for grep');
  const coloured = await render('table', [detection({ level: 'critical' }), detection({ level: 'informational' }), terminal!], {
    color: true,
    width: 160,
  });
  assert.ok(coloured.includes(`${ESC}[1;91mcrit `), 'critical: bright red, bold');
  assert.ok(coloured.includes(`${ESC}[2minfo `), 'informational: dim');
  assert.ok(coloured.includes(`${ESC}[32mlow  `), 'low: green');
  const withoutOurCodes = coloured.replaceAll(/\x1b\[[0-9;]*m/g, '');
  assert.ok(!withoutOurCodes.includes(ESC), 'the only escapes are our colour codes');
  const empty = (await render('table', [], { width: 100 })).split('\n');
  assert.deepEqual(empty.slice(1), ['No detections.', '']);
  assert.match(empty[0]!, /^Timestamp \(UTC\) +Level +Computer/);
});

test('colour only on a terminal and never with NO_COLOR', () => {
  const terminal = Object.assign(new TextCollector(), { isTTY: true });
  assert.equal(useColor(terminal, {}), true);
  assert.equal(useColor(terminal, { NO_COLOR: '1' }), false);
  assert.equal(useColor(terminal, { NO_COLOR: '' }), true, 'no-color.org: an empty NO_COLOR does not count');
  assert.equal(useColor(new TextCollector(), {}), false);
});

test('display widths: wide, combining and zero-width characters', () => {
  assert.equal(displayWidth('abc'), 3);
  assert.equal(displayWidth('漢字'), 4);
  assert.equal(displayWidth('e\u0301'), 1);
  assert.equal(displayWidth('😀'), 2);
  assert.equal(displayWidth('a\u200bb'), 2);
});

test('streaming formats keep memory flat: a slow reader gets data while detections still come, little waits in between', async () => {
  const many = 30_000;
  const base = detection({ fields: { CommandLine: 'powershell.exe -enc ' + 'QQ'.repeat(200) } });
  for (const format of OUTPUT_FORMATS.filter((f) => f !== 'html')) {
    const out = new TextCollector(true, 16 * 1024);
    const sink = createSink(format, out, { width: 0 });
    let receivedHalfway = 0;
    for (let i = 0; i < many; i++) {
      await sink.write(i === 0 ? base : { ...base, record_id: i });
      if (i === many / 2) receivedHalfway = out.received;
    }
    await sink.end(summaryOf([]));
    assert.ok(receivedHalfway > out.received / 4, `${format}: only ${receivedHalfway} of ${out.received} bytes written by halfway`);
    // A write of about 64 KiB (one gathered batch, a few hundred bytes past the mark) on top of a full 16 KiB buffer, never more.
    assert.ok(out.maxBuffered <= 16 * 1024 + 80 * 1024, `${format}: ${out.maxBuffered} bytes waited in the stream`);
  }
});

test('write() fails at once on a closed stream instead of waiting for a drain that never comes', async () => {
  const out = new TextCollector();
  out.destroy();
  await assert.rejects(write(out, 'x'), /closed/);
  const ended = new TextCollector();
  ended.end();
  await assert.rejects(write(ended, 'x'), /closed/);
  const failing = new TextCollector(true, 1);
  const pending = write(failing, 'more than one byte');
  failing.destroy(new Error('disk full'));
  await assert.rejects(pending, /disk full/);
});
