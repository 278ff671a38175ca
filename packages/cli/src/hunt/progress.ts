/**
 * The progress line a hunt draws on a terminal's stderr, redrawn at most a few times a second:
 * files, events, events/s and the time left, estimated from the bytes of the files done.
 */
import type { Writable } from 'node:stream';

const REDRAW_MS = 200;
const BAR_WIDTH = 24;

export class ProgressLine {
  private files = 0;
  private events = 0;
  private bytesDone = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly started = performance.now();

  constructor(
    private readonly stream: Writable,
    private readonly totalFiles: number,
    private readonly totalBytes: number,
  ) {}

  addEvents(n: number): void {
    this.events += n;
    this.maybeDraw();
  }

  fileDone(bytes: number): void {
    this.files++;
    this.bytesDone += bytes;
    this.maybeDraw();
  }

  /** Erases the line, so the summary starts on a clean one. */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  private maybeDraw(): void {
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    const share = this.totalBytes > 0 ? this.bytesDone / this.totalBytes : this.files / Math.max(1, this.totalFiles);
    const filled = Math.round(share * BAR_WIDTH);
    const rate = seconds > 0 ? this.events / seconds : 0;
    const eta = share > 0.01 ? formatDuration((seconds / share) * (1 - share)) : '?';
    const bar = `[${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`;
    this.stream.write(
      `\r\x1b[2K${bar} ${this.files}/${this.totalFiles} files  ${this.events.toLocaleString('en-US')} events  ` +
        `${Math.round(rate).toLocaleString('en-US')} events/s  ETA ${eta}`,
    );
    this.drawn = true;
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
