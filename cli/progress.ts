/**
 * The progress line on a terminal: records, total, rate and time left, redrawn in place on
 * stderr at most a few times a second (stdout stays clean for --json).
 */
import type { ExportProgress } from '../lambda/core';

const REDRAW_MS = 250;

export class ProgressLine {
  private readonly startedAt = Date.now();
  private drawnAt = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  update(progress: ExportProgress): void {
    const now = Date.now();
    if (now - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = now;
    this.drawn = true;
    this.stream.write(`\r\x1b[K${describe(progress, (now - this.startedAt) / 1000)}`);
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** "12,300 / 60,000 eSIMs · 2,050/s · 28 s left · 3 retries" */
export function describe(progress: ExportProgress, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? progress.records / elapsedSeconds : 0;
  const parts = [`${progress.records.toLocaleString('en-US')} / ${progress.total?.toLocaleString('en-US') ?? '?'} eSIMs`];
  parts.push(`${Math.round(rate).toLocaleString('en-US')}/s`);
  if (progress.total !== undefined && rate > 0) {
    const left = Math.max(0, (progress.total - progress.records) / rate);
    parts.push(`${left < 90 ? `${Math.ceil(left)} s` : `${Math.ceil(left / 60)} min`} left`);
  }
  if (progress.retries > 0) parts.push(`${progress.retries} retries`);
  if (progress.pass > 1) parts.push(`re-reading (pass ${progress.pass}): the inventory changed`);
  return parts.join(' · ');
}
