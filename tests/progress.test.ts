import { describe, expect, it } from 'vitest';
import { createConsoleLogger } from '../src/log.js';
import { ProgressView } from '../src/progress.js';

// The text a person sees for the log records the pipeline writes (fields as acquire.ts, ingest.ts,
// the dbt runner and publish.ts log them), on a terminal and off one.

function collector(isTTY: boolean) {
  const chunks: string[] = [];
  return { out: { isTTY, write: (t: string) => chunks.push(t) }, text: () => chunks.join('') };
}

function download(view: ProgressView, clock: { t: number }) {
  view.record({ level: 30, step: 'acquire', msg: 'pipeline: acquire' });
  view.record({ level: 30, step: 'acquire', msg: 'dataset: downloading', source: 'https://example.org/dataset.csv' });
  clock.t += 2_000;
  view.record({ level: 30, step: 'acquire', msg: 'dataset: 50% downloaded', bytes: 10_000_000, total: 20_000_000, percent: 50 });
  clock.t += 2_000;
  view.record({ level: 30, step: 'acquire', msg: 'dataset: downloaded 20.0 MB', bytes: 20_000_000, seconds: 4 });
  view.record({ level: 30, step: 'ingest', msg: 'pipeline: ingest' });
  clock.t += 1_000;
  view.record({ level: 30, step: 'ingest', msg: 'ingest progress', rowsRead: 25_000, bytesRead: 5_000_000 });
  clock.t += 3_000;
  view.record({ level: 30, step: 'ingest', msg: 'ingest finished', rowsRead: 100_000, rowsStaged: 99_990, rowsRejected: 10 });
  view.record({ level: 50, msg: 'the disk is full' });
}

describe('progress view', () => {
  it('on a terminal rewrites the step line with size, speed and ETA, then ends it with the totals', () => {
    const clock = { t: 0 };
    const c = collector(true);
    download(new ProgressView(c.out, () => clock.t), clock);
    expect(c.text()).toContain('\r\x1b[2Kdataset: downloading 10.0 MB of 20.0 MB, 5.0 MB/s, ETA 2.0 s');
    expect(c.text()).toContain('\r\x1b[2Kdataset: downloaded 20.0 MB in 4.0 s (5.0 MB/s)\n');
    // 5 MB of the 20 MB file read in 1 s: 3 s to go.
    expect(c.text()).toContain('\r\x1b[2Kingest: 25,000 rows, 25,000 rows/s, ETA 3.0 s');
    expect(c.text()).toContain('\r\x1b[2Kingest: 99,990 rows staged, 10 rejected in 4.0 s (25,000 rows/s)\n');
    expect(c.text().endsWith('the disk is full\n')).toBe(true);
  });

  it('off a terminal writes only each finished line', () => {
    const clock = { t: 0 };
    const c = collector(false);
    download(new ProgressView(c.out, () => clock.t), clock);
    expect(c.text()).toBe(
      'dataset: downloaded 20.0 MB in 4.0 s (5.0 MB/s)\ningest: 99,990 rows staged, 10 rejected in 4.0 s (25,000 rows/s)\nthe disk is full\n',
    );
  });

  it('is chosen for a terminal (LOG_FORMAT=auto) or when asked; JSON otherwise', () => {
    expect(createConsoleLogger('info', 'auto', collector(true).out).view).not.toBeNull();
    expect(createConsoleLogger('info', 'auto', collector(false).out).view).toBeNull();
    expect(createConsoleLogger('info', 'text', collector(false).out).view).not.toBeNull();
    expect(createConsoleLogger('info', 'json', collector(true).out).view).toBeNull();
  });
});
