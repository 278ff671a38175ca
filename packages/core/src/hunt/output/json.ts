/**
 * JSON lines (one detection per line) and one JSON document,
 * `{"detections":[…],"summary":{…}}`, both written as detections arrive. The detection objects are
 * the public contract as they are (detection.ts); the summary is `HuntSummary`.
 */
import type { Writable } from 'node:stream';
import type { Detection } from '../detection.js';
import type { HuntSummary } from '../summary.js';
import type { DetectionSink } from './sink.js';
import { jsonText } from './text.js';
import { BufferedWriter } from './write.js';

export class JsonlSink implements DetectionSink {
  private readonly out: BufferedWriter;

  constructor(stream: Writable) {
    this.out = new BufferedWriter(stream);
  }

  write(d: Detection): Promise<void> | undefined {
    return this.out.add(jsonText(d) + '\n');
  }

  async end(): Promise<void> {
    await this.out.flush();
  }
}

export class JsonSink implements DetectionSink {
  private readonly out: BufferedWriter;
  private count = 0;

  constructor(stream: Writable) {
    this.out = new BufferedWriter(stream);
  }

  write(d: Detection): Promise<void> | undefined {
    return this.out.add((this.count++ === 0 ? '{"detections":[\n' : ',\n') + jsonText(d));
  }

  async end(summary: HuntSummary): Promise<void> {
    await this.out.add((this.count === 0 ? '{"detections":[' : '\n') + '],\n"summary":' + jsonText(summary) + '}\n');
    await this.out.flush();
  }
}
