import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentVersion } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { DatasetError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { NoValidRowsError } from '../src/pipeline/ingest.js';
import { runPipeline, type PipelineStep } from '../src/pipeline/run.js';
import { PipelineRunRecorder } from '../src/pipeline/runs.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DATASET_PATH } from './helpers/dataset.js';
import { runPipelineProcess } from './helpers/pipeline-process.js';

/**
 * ops.pipeline_runs as an operator reads it: a run whose process died stays 'running' only until the
 * next run starts, which marks it 'abandoned'; a retried step of the same run id continues its row.
 */
describe('ops.pipeline_runs: runs left running by a killed process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'music-mcp-runs-'));
  let session: DuckDbSession;
  beforeAll(async () => {
    session = await DuckDbSession.open(join(dir, 'w.duckdb'));
  });
  afterAll(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const statusOf = async (runId: string) =>
    (await session.all<{ status: string; error: string | null; steps: string }>('SELECT status, error, steps FROM ops.pipeline_runs WHERE run_id = $1', [runId]))[0];

  it('marks another unfinished run abandoned when a run starts, and keeps finished runs as they were', async () => {
    const done = await PipelineRunRecorder.start(session, { runId: 'done', steps: ['ingest'], startedAt: new Date('2026-01-01T00:00:00Z') });
    await done.finish('succeeded');
    await PipelineRunRecorder.start(session, { runId: 'killed', steps: ['ingest', 'transform'], startedAt: new Date('2026-01-02T00:00:00Z') });
    // (no finish: the process was killed)
    expect((await statusOf('killed'))!.status).toBe('running');

    const next = await PipelineRunRecorder.start(session, { runId: 'next', steps: ['ingest'], startedAt: new Date('2026-01-03T00:00:00Z') });
    const killed = (await statusOf('killed'))!;
    expect(killed.status).toBe('abandoned');
    expect(killed.error).toMatch(/ended without finishing .* found by run next at 2026-01-03T00:00:00.000Z/);
    expect((await statusOf('done'))!.status).toBe('succeeded');
    expect((await statusOf('next'))!.status).toBe('running');
    await next.finish('failed', new Error('boom'));
    expect((await statusOf('next'))!).toMatchObject({ status: 'failed', error: 'boom' });
  });

  it('continues the row of the same run id (a retried Airflow task) instead of abandoning it', async () => {
    await PipelineRunRecorder.start(session, { runId: 'dag-run-1', steps: ['ingest'], startedAt: new Date('2026-01-04T00:00:00Z') });
    const retry = await PipelineRunRecorder.start(session, { runId: 'dag-run-1', steps: ['transform'], startedAt: new Date('2026-01-04T01:00:00Z') });
    expect((await statusOf('dag-run-1'))!).toMatchObject({ status: 'running', steps: 'ingest,transform', error: null });
    await retry.finish('succeeded');
    expect((await statusOf('dag-run-1'))!.status).toBe('succeeded');
  });

  it('records a failure whose message holds NULs, quotes and escape bytes, so the next run does not call it killed', async () => {
    const run = await PipelineRunRecorder.start(session, { runId: "bin'ary", steps: ['ingest'], startedAt: new Date('2026-01-05T00:00:00Z') });
    await run.update({ input_notes: "read as windows-1252\u0000'" });
    await run.finish('failed', new Error("unrecognised CSV header (\u001f\u008b\u0008\u0000'; DROP TABLE x; --)"));
    const [row] = await session.all<{ status: string; error: string; input_notes: string }>(
      'SELECT status, error, input_notes FROM ops.pipeline_runs WHERE run_id = $1',
      ["bin'ary"],
    );
    expect(row).toEqual({
      status: 'failed',
      error: "unrecognised CSV header (\\u001f\\u008b\\u0008\\u0000'; DROP TABLE x; --)",
      input_notes: "read as windows-1252\\u0000'",
    });
    await PipelineRunRecorder.start(session, { runId: 'after-binary', steps: ['ingest'], startedAt: new Date('2026-01-05T01:00:00Z') });
    expect((await statusOf("bin'ary"))!.status).toBe('failed');
  });
});

/**
 * A careless or binary file given to the whole pipeline: the run fails with a recorded reason, nothing
 * after ingest runs, the published catalog stays the one before, and the next run sees a failed run,
 * not a killed one.
 */
describe('pipeline runs on careless and binary files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'music-mcp-careless-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const [header, ...rows] = readFileSync(DATASET_PATH, 'utf8').trimEnd().split('\n');
  const write = (name: string, bytes: string | Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const run = (dataset: string, runId: string, steps?: PipelineStep[]) =>
    runPipeline(
      loadConfig({ MUSIC_DATA_DIR: join(dir, 'data'), MUSIC_DATASET: dataset, MUSIC_RUN_ID: runId, LOG_LEVEL: 'silent' }),
      silentLogger,
      steps ? { steps } : {},
    );
  const runRows = async () => {
    const session = await DuckDbSession.open(join(dir, 'data', 'warehouse.duckdb'));
    try {
      return await session.all<{ run_id: string; status: string; error: string | null; rows_read: number | null; rows_rejected: number | null; input_notes: string | null }>(
        'SELECT run_id, status, error, rows_read, rows_rejected, input_notes FROM ops.pipeline_runs ORDER BY started_at, run_id',
      );
    } finally {
      await session.close();
    }
  };

  it('keeps the published catalog and records each failure; a later run does not call them killed', async () => {
    // Every 10th row of the real file: a small catalog that passes every dbt test.
    const sample = write('sample.csv', `${[header, ...rows.filter((_, i) => i % 10 === 0)].join('\n')}\n`);
    const first = await run(sample, 'good');
    const published = await currentVersion(join(dir, 'data', 'snapshots'));
    expect(published).toBe(first.publish!.version);

    await expect(run(write('header-only.csv', `${header}\n`), 'empty')).rejects.toBeInstanceOf(NoValidRowsError);
    const allBad = write('all-bad.csv', `${header}\n${rows[0]!.replace(/,\d+$/, ',-1')}\n`);
    await expect(run(allBad, 'all-bad')).rejects.toThrow(/all-bad\.csv has no valid rows: all 1 rejected \(out_of_range 1;/);
    await expect(run(write('songs.csv.gz', gzipSync(readFileSync(sample))), 'gzip')).rejects.toBeInstanceOf(DatasetError);
    expect(await currentVersion(join(dir, 'data', 'snapshots'))).toBe(published);

    const latin1 = write('latin1.csv', iconv.encode(`${header}\n${rows[0]!.replace('Ed Sheeran', 'Beyoncé')}\n`, 'windows-1252'));
    await run(latin1, 'latin1', ['acquire', 'ingest']);

    const byId = Object.fromEntries((await runRows()).map((r) => [r.run_id, r]));
    expect(byId.good).toMatchObject({ status: 'succeeded', error: null, input_notes: null });
    expect(byId.empty).toMatchObject({
      status: 'failed', rows_read: 0, rows_rejected: 0,
      error: 'header-only.csv has a header but no data rows; nothing was staged and the published catalog is kept',
    });
    expect(byId['all-bad']).toMatchObject({ status: 'failed', rows_read: 1, rows_rejected: 1 });
    expect(byId.gzip!.status).toBe('failed');
    expect(byId.gzip!.error).toMatch(/songs\.csv\.gz is gzip-compressed, not a CSV text file; decompress it first/);
    expect(byId.gzip!.error).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/);
    expect(byId.latin1).toMatchObject({ status: 'succeeded', rows_read: 1, rows_rejected: 0 });
    expect(byId.latin1!.input_notes).toMatch(/^latin1\.csv is not UTF-8 \(first at line 2 .*read as Windows-1252/);
  });

  it('npm run pipeline on a header-only file exits 1 with one line naming the file and the reason', async () => {
    const { code, stderr } = await runPipelineProcess(join(dir, 'process-data'), write('only-header.csv', `${header}\n`));
    expect(code).toBe(1);
    const last = stderr.trimEnd().split('\n').pop();
    expect(last).toBe('pipeline failed: only-header.csv has a header but no data rows; nothing was staged and the published catalog is kept');
  });
});
