/** The HTML report: self-contained, hostile values inert, aggregates right, bounded in memory. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { levelRank, type Detection } from '../src/hunt/detection.js';
import { MAX_VALUE_LENGTH } from '../src/hunt/output/html/aggregate.js';
import { MAX_BUCKETS, TimeBuckets } from '../src/hunt/output/html/time-buckets.js';
import { asJson, detection, hostileDetections, huntSamples, LONG_VALUE, samplesSkip } from './support/hunt-output-fixtures.js';
import { dataText, htmlReport, markupOnly, tagsOf } from './support/hunt-output-html.js';

const ELEMENTS = new Set(
  'html head meta title style body header h1 h2 h3 p main section div span ul li b table colgroup col thead tbody tr th td svg g rect line text input select option button noscript script'.split(
    ' ',
  ),
);
/** Attributes that make a browser fetch, navigate or run something. */
const LOADING = new Set([
  'src',
  'srcset',
  'href',
  'xlink:href',
  'action',
  'formaction',
  'poster',
  'background',
  'data',
  'style',
  'ping',
  'manifest',
]);

async function allDetections(): Promise<Detection[]> {
  return [...(samplesSkip ? [] : await huntSamples()), ...hostileDetections()];
}

/** Text longer than MAX_VALUE_LENGTH is cut in the report's table, saying by how much. */
const cut = (value: unknown): unknown =>
  typeof value === 'string' && value.length > MAX_VALUE_LENGTH
    ? `${value.slice(0, MAX_VALUE_LENGTH)}… (${value.length - MAX_VALUE_LENGTH} more characters)`
    : value;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

test('the report is self-contained: a strict policy, nothing that loads, only the elements and attributes it means', async () => {
  const html = await htmlReport(await allDetections());
  const tags = tagsOf(markupOnly(html));
  const unknown = tags.filter((t) => !ELEMENTS.has(t.name)).map((t) => t.name);
  assert.deepEqual(unknown, []);
  for (const { name, attributes } of tags)
    for (const attribute of attributes) {
      assert.ok(!LOADING.has(attribute.name) && !attribute.name.startsWith('on'), `<${name} ${attribute.name}>`);
      assert.ok(!attribute.value.includes('://'), `<${name} ${attribute.name}="${attribute.value}">`);
    }
  assert.equal(tags.filter((t) => t.name === 'script' && !t.closing).length, 2, 'the data block and the script, nothing else');
  // The policy's hashes are those of the style and script actually in the file, so the browser runs them and nothing else.
  const policy = tags.find((t) => t.name === 'meta' && t.attributes.some((a) => a.value === 'Content-Security-Policy'))!;
  const content = policy.attributes.find((a) => a.name === 'content')!.value;
  const style = html.slice(html.indexOf('<style>') + 7, html.indexOf('</style>'));
  const script = html.slice(html.lastIndexOf('<script>') + 8, html.lastIndexOf('</script>'));
  assert.equal(
    content,
    `default-src 'none'; style-src ${sha256(style)}; script-src ${sha256(script)}; base-uri 'none'; form-action 'none'`,
  );
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style>'), 'the policy comes before what it governs');
});

test('a report of the real hunt holds no URL at all', { skip: samplesSkip }, async () => {
  const html = await htmlReport(await huntSamples());
  assert.ok(!html.includes('http://') && !html.includes('https://'));
  assert.ok(!/\burl\(|@import/i.test(html));
});

test('hostile values appear only escaped, and the data block parses back to the detections, best first', async () => {
  const detections = await allDetections();
  const html = await htmlReport(detections);
  const [csv, tags, terminal] = hostileDetections();
  for (const raw of [tags!.rule_title, tags!.computer!, tags!.channel!, tags!.fields.Image as string, csv!.rule_title])
    assert.ok(!html.includes(raw), `raw in the report: ${raw}`);
  assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'), 'the title, escaped');
  assert.ok(html.includes('&lt;img src=http://127.0.0.1:9/x onerror=alert(1)&gt;'), 'the computer, escaped');
  assert.ok(html.includes('Escape \\u001b[2J'), 'a terminal escape, shown');
  assert.ok(!html.includes('\x1b') && !html.includes(terminal!.fields.TargetFilename as string));

  const data = JSON.parse(dataText(html));
  assert.equal(data.total, detections.length);
  const expected = detections
    .map((d, index) => ({ d, index, time: d.timestamp === null ? Infinity : Date.parse(d.timestamp) }))
    .sort((a, b) => levelRank(b.d.level) - levelRank(a.d.level) || a.time - b.time || a.index - b.index)
    .map(({ d }) => d);
  assert.equal(data.rows.length, expected.length);
  data.rows.forEach((row: unknown[], i: number) => {
    const d = expected[i]!;
    const rule = data.rules[row[0] as number];
    assert.deepEqual([rule.id, rule.title, rule.level, rule.tags], [d.rule_id, d.rule_title, d.level, d.tags]);
    assert.deepEqual(row.slice(1, 7), [d.timestamp, d.computer, d.channel, d.event_id, d.record_id, d.file]);
    assert.deepEqual(row.slice(8), [d.layer, d.category]);
    const fields = row[7] as Record<string, unknown>;
    if (d.fields.CommandLine === LONG_VALUE) {
      assert.equal(fields.CommandLine, `${'A'.repeat(MAX_VALUE_LENGTH)}… (${LONG_VALUE.length - MAX_VALUE_LENGTH} more characters)`);
      assert.equal(fields.Keywords, '9223372036854775808', 'a 64-bit integer keeps its digits, as text');
      assert.deepEqual([fields.Sizes, fields.Nested], [d.fields.Sizes, d.fields.Nested]);
    } else assert.deepEqual(fields, asJson(Object.fromEntries(Object.entries(d.fields).map(([k, v]) => [k, cut(v)]))));
  });
});

test('summary, levels, top rules, computers and the ATT&CK matrix count the real hunt', { skip: samplesSkip }, async () => {
  const detections = await huntSamples();
  const html = await htmlReport(detections);
  const count = (predicate: (d: Detection) => boolean): number => detections.filter(predicate).length;
  const plural = (n: number): string => `${n} detection${n === 1 ? '' : 's'}`;
  for (const tactic of ['Credential Access', 'Lateral Movement', 'Execution']) {
    const n = count((d) => d.attack.tactics.includes(tactic as never));
    assert.ok(n > 0, tactic);
    assert.ok(html.includes(`data-tactic="${tactic}"><h3>${tactic}<span>${plural(n)}</span></h3>`), tactic);
  }
  assert.ok(html.includes(`data-tactic="Impact" title="Impact: no detections"><h3>Impact<span>none</span></h3>`));
  const t1003 = count((d) => d.attack.techniques.includes('T1003') && d.attack.tactics.includes('Credential Access'));
  assert.ok(html.includes(`<span class="mono">T1003</span><b>${t1003}</b>`));
  for (const level of ['high', 'medium'] as const) {
    const n = count((d) => d.level === level);
    assert.ok(html.includes(`<span class="badge b-${level}">${level}</span></td><td class="num">${n}</td>`), level);
  }
  for (const title of new Set(detections.map((d) => d.rule_title)))
    assert.ok(
      html.includes(`<td>${title}<div class="sub mono">`) &&
        html.includes(`</div></td><td class="num">${count((d) => d.rule_title === title)}</td>`),
      title,
    );
  for (const computer of new Set(detections.map((d) => d.computer!)))
    assert.ok(
      html.includes(`<span class="mono">${computer}</span></td><td class="num">${count((d) => d.computer === computer)}</td>`),
      computer,
    );
  for (const text of [
    '1,234',
    '5 filtered out',
    '1 skipped',
    '1.5 s',
    '80.0 MiB',
    '2 skipped: 1 unsupported, 1 &lt;b&gt;invalid&lt;/b&gt;',
  ])
    assert.ok(html.includes(text), text);
  assert.ok(!html.includes('The report keeps'), 'every detection is in the table');
});

test('the table keeps at most maxRows detections, the highest levels then the earliest, and says so', async () => {
  const levels = ['informational', 'low', 'medium', 'high', 'critical'] as const;
  const many = Array.from({ length: 1000 }, (_, i) =>
    detection({
      level: levels[(i * 7) % 5]!,
      record_id: i,
      timestamp: new Date(Date.UTC(2024, 0, 1) + ((i * 7919) % 1000) * 60_000).toISOString(),
    }),
  );
  const html = await htmlReport(many, { maxRows: 50 });
  const data = JSON.parse(dataText(html));
  assert.equal(data.total, 1000);
  const best = [...many]
    .sort((a, b) => levelRank(b.level) - levelRank(a.level) || a.timestamp!.localeCompare(b.timestamp!) || a.record_id! - b.record_id!)
    .slice(0, 50);
  assert.deepEqual(
    data.rows.map((r: unknown[]) => r[5]),
    best.map((d) => d.record_id),
  );
  assert.ok(html.includes('The report keeps 50 of 1,000 detections'));
  assert.ok(html.includes('Use --format jsonl for all.'));
  assert.ok(html.includes('<span class="badge b-critical">critical</span></td><td class="num">200</td>'), 'counts cover every detection');
});

test('detections over time: the bar width follows the range', async () => {
  const at = (iso: string): Detection => detection({ timestamp: iso });
  const hours = await htmlReport([at('2024-05-01T10:05:00Z'), at('2024-05-01T13:59:00Z')]);
  assert.ok(hours.includes('(bars of 1 hour, UTC)'));
  assert.ok(hours.includes('<title>2024-05-01 10:00: 1 (1 medium)</title>'));
  const weeks = await htmlReport([at('2023-01-01T00:00:00Z'), at('2024-06-30T00:00:00Z')]);
  assert.ok(weeks.includes('(bars of 7 days, UTC)'), 'a year and a half: weeks, at most 96 bars');
  const none = await htmlReport([detection({ timestamp: null })]);
  assert.ok(none.includes('No detection has a timestamp.'));
  const empty = await htmlReport([]);
  assert.ok(empty.includes('No detection has a timestamp.') && JSON.parse(dataText(empty)).rows.length === 0);
});

test('time buckets stay bounded: a spread of times coarsens the buckets and keeps every count', () => {
  const buckets = new TimeBuckets(5);
  const start = Date.UTC(2020, 0, 1);
  for (let hour = 0; hour < 3 * MAX_BUCKETS; hour++) buckets.add(start + hour * 3_600_000, hour % 5);
  buckets.add(Date.UTC(1971, 0, 1), 4);
  assert.equal(buckets.size, 24 * 3_600_000, 'hours became days');
  const histogram = buckets.histogram(96)!;
  assert.ok(histogram.bars.length <= 96);
  assert.equal(
    histogram.bars.flat().reduce((a, b) => a + b, 0),
    3 * MAX_BUCKETS + 1,
  );
});
