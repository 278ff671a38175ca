/** Reading the HTML report back in tests: its data block, its markup without script and style, its tags. */
import type { Detection } from '../../src/hunt/detection.js';
import { createSink, type SinkOptions } from '../../src/hunt/output/index.js';
import { summaryOf, TextCollector } from './hunt-output-fixtures.js';

export async function htmlReport(detections: readonly Detection[], options: SinkOptions = {}): Promise<string> {
  const out = new TextCollector();
  const sink = createSink('html', out, { generatedAt: new Date('2024-05-01T10:00:02Z'), ...options });
  for (const d of detections) await sink.write(d);
  await sink.end(summaryOf(detections));
  return out.text;
}

const DATA_OPEN = '<script type="application/json" id="report-data">';

/** The data block's text, cut where an HTML parser would end it: at the first `</script`. */
export function dataText(html: string): string {
  const start = html.indexOf(DATA_OPEN);
  if (start < 0) throw new Error('no data block');
  const from = start + DATA_OPEN.length;
  return html.slice(from, html.toLowerCase().indexOf('</script', from));
}

/** The markup an HTML parser reads as elements: the contents of every script and style element removed. */
export function markupOnly(html: string): string {
  let out = '';
  let at = 0;
  const lower = html.toLowerCase();
  for (;;) {
    const open = [lower.indexOf('<script', at), lower.indexOf('<style', at)].filter((i) => i >= 0).sort((a, b) => a - b)[0];
    if (open === undefined) return out + html.slice(at);
    const name = lower.startsWith('<script', open) ? 'script' : 'style';
    const contentStart = lower.indexOf('>', open) + 1;
    const close = lower.indexOf(`</${name}`, contentStart);
    if (close < 0) throw new Error(`<${name}> never closed`);
    out += html.slice(at, contentStart);
    at = close;
  }
}

export interface Tag {
  name: string;
  closing: boolean;
  attributes: { name: string; value: string }[];
}

/** Every tag of `markup` (from markupOnly); throws when a `<` starts no tag our report writes. */
export function tagsOf(markup: string): Tag[] {
  const tags: Tag[] = [];
  let i = markup.indexOf('<');
  while (i >= 0) {
    if (markup.startsWith('<!DOCTYPE html>', i)) i += '<!DOCTYPE html>'.length;
    else {
      const end = markup.indexOf('>', i);
      const body = markup.slice(i + 1, end).replace(/\/$/, '');
      const match = /^\/?([a-z][a-z0-9]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*(?:="[^"<>]*")?)*)\s*$/.exec(body);
      if (!match) throw new Error(`not a tag the report writes at offset ${i}: ${markup.slice(i, i + 80)}`);
      const attributes = [...match[2]!.matchAll(/([a-zA-Z][a-zA-Z0-9:-]*)(?:="([^"]*)")?/g)].map((a) => ({
        name: a[1]!.toLowerCase(),
        value: a[2] ?? '',
      }));
      tags.push({ name: match[1]!, closing: body.startsWith('/'), attributes });
      i = end + 1;
    }
    i = markup.indexOf('<', i);
  }
  return tags;
}
