/**
 * The self-contained HTML report: one file, its style and script inline, nothing loaded from
 * anywhere (a strict Content Security Policy says so to the browser too). Detections are
 * gathered into bounded aggregates as they come (report data grows with rules and time range,
 * not with the number of detections); the page is written at the end.
 */
import type { Writable } from 'node:stream';
import type { Detection } from '../../detection.js';
import type { HuntSummary } from '../../summary.js';
import type { DetectionSink, SinkOptions } from '../sink.js';
import { jsonText } from '../text.js';
import { BufferedWriter } from '../write.js';
import { DEFAULT_MAX_ROWS, ReportAggregate, type KeptRow } from './aggregate.js';
import * as page from './render.js';

export class HtmlSink implements DetectionSink {
  private readonly aggregate: ReportAggregate;
  private readonly out: BufferedWriter;
  private readonly generatedAt: Date | undefined;

  constructor(stream: Writable, options: SinkOptions = {}) {
    this.out = new BufferedWriter(stream);
    this.aggregate = new ReportAggregate(options.maxRows ?? DEFAULT_MAX_ROWS);
    this.generatedAt = options.generatedAt;
  }

  write(d: Detection): undefined {
    this.aggregate.add(d);
  }

  async end(summary: HuntSummary): Promise<void> {
    const agg = this.aggregate;
    const generatedAt = this.generatedAt ?? new Date();
    const rows = agg.rows();
    await this.out.add(page.pageStart(generatedAt) + page.header(summary, generatedAt));
    await this.out.add(page.summarySection(summary, agg) + page.timelineSection(agg));
    await this.out.add('<div class="cols">' + page.levelSection(agg) + page.topComputersSection(agg) + '</div>');
    await this.out.add(page.topRulesSection(agg) + page.matrixSection(agg));
    await this.out.add(page.detectionsSectionStart(rows.length, agg.detections));
    await this.writeData(rows);
    await this.out.add(page.pageEnd());
    await this.out.flush();
  }

  /**
   * The table's data, `{"total", "rules": [RuleTally…], "rows": [[rule, timestamp, computer, channel,
   * event_id, record_id, file, fields, layer, category], …]}`, written row by row.
   */
  private async writeData(rows: KeptRow[]): Promise<void> {
    const agg = this.aggregate;
    await this.out.add(
      '<script type="application/json" id="report-data">' +
        page.scriptJson(`{"total":${agg.detections},"rules":${jsonText(agg.rules)},"rows":[`),
    );
    for (let i = 0; i < rows.length; i++) {
      const { rule, detection: d } = rows[i]!;
      const row = [rule, d.timestamp, d.computer, d.channel, d.event_id, d.record_id, d.file, d.fields, d.layer, d.category];
      await this.out.add((i === 0 ? '' : ',') + page.scriptJson(jsonText(row)));
    }
    await this.out.add(']}</script>\n');
  }
}
