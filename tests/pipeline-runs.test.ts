import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDatasetCard } from '../resources/dataset-card.js';
import { Catalog } from '../src/catalog/catalog.js';
import { currentVersion, readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { DatasetError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { NoValidRowsError } from '../src/pipeline/ingest.js';
import { runPipeline, type PipelineStep } from '../src/pipeline/run.js';
import { PipelineRunRecorder } from '../src/pipeline/runs.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DATASET_PATH, writeDatasetVersion } from './helpers/dataset.js';
import { readDuckDbCopy, runPipelineProcess } from './helpers/pipeline-process.js';
import { createScratchDatabase, postgresUnavailable, type ScratchDatabase } from './helpers/postgres.js';

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

/**
 * The shrink guard as an operator meets it, through the scripts (`npm run pipeline`, `npm run ingest`) on
 * both staging backends: a smaller version of the source file deletes the rows it lost (counted in the run
 * record and the dataset card); a truncated one is refused with one line, exit 65, staging and the
 * published snapshot untouched, until `--allow-shrink` or MUSIC_ALLOW_SHRINK=1 says it is intended.
 */
const pgUnavailable = await postgresUnavailable();
describe.each([
  { backend: 'embedded DuckDB staging', pg: false },
  { backend: `PostgreSQL staging${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`, pg: true },
])('a smaller source file through the pipeline scripts: $backend', ({ pg }) => {
  const dir = mkdtempSync(join(tmpdir(), 'music-mcp-shrink-'));
  const dataDir = join(dir, 'data');
  let scratch: ScratchDatabase | undefined;
  const env = (): Record<string, string> => ({ LOG_LEVEL: 'warn', ...(scratch ? { STAGING_URL: scratch.url } : {}) });
  beforeAll(async () => {
    if (pg && !pgUnavailable) scratch = await createScratchDatabase('music_shrink');
  });
  afterAll(async () => {
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const version = (name: string, keep: (n: number) => boolean) => writeDatasetVersion(mkdtempSync(join(dir, name)), keep);
  const current = () => readFileSync(join(dataDir, 'snapshots', 'CURRENT'), 'utf8').trim();
  const lastRun = () =>
    readDuckDbCopy(join(dataDir, 'warehouse.duckdb'), async (conn) =>
      (await conn.runAndReadAll('SELECT status, error, rows_read, rows_deleted FROM ops.pipeline_runs ORDER BY started_at DESC LIMIT 1')).getRowObjectsJson()[0]);
  const digest = 'SELECT count(*) AS n, md5(string_agg(row_key || row_hash || CAST(loaded_at AS VARCHAR), \',\' ORDER BY row_key)) AS d FROM staging.tracks';
  const stagingDigest = async () =>
    scratch
      ? (await scratch.query(digest))[0]
      : readDuckDbCopy(join(dataDir, 'warehouse.duckdb'), async (conn) => (await conn.runAndReadAll(digest)).getRowObjectsJson()[0]);

  it.skipIf(pg && pgUnavailable !== null)('deletes and counts lost rows; refuses a truncated file (exit 65) until allowed', async () => {
    const first = await runPipelineProcess(dataDir, await version('v1-', () => true), { env: env() });
    expect(first.code, first.stderr).toBe(0);

    // Every fourth row gone: 100 rows deleted, counted in ops.pipeline_runs, the manifest and the dataset card.
    const smaller = await runPipelineProcess(dataDir, await version('v2-', (n) => n % 4 !== 0), { env: env() });
    expect(smaller.code, smaller.stderr).toBe(0);
    expect(await lastRun()).toMatchObject({ status: 'succeeded', rows_read: 300, rows_deleted: 100 });
    const published = current();
    const snapshot = await readSnapshot(join(dataDir, 'snapshots'));
    expect(snapshot.manifest.source).toMatchObject({ rowsStaged: 300, run: { rowsRead: 300, rowsDeleted: 100 } });
    expect(renderDatasetCard(new Catalog(snapshot))).toContain("- rows deleted by that run's ingest 100 (");

    // Truncated to 75 of the 300 rows: refused in one line, exit 65; staging and the snapshot untouched.
    const before = await stagingDigest();
    const truncated = await version('v3-', (n) => n <= 100 && n % 4 !== 0);
    const refused = await runPipelineProcess(dataDir, truncated, { env: env() });
    expect(refused.code, refused.stderr).toBe(65);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^refusing to load "tidytuesday_spotify_songs\.csv": it would delete 225 of the 300 rows staged from it .*--allow-shrink \(or MUSIC_ALLOW_SHRINK=1/),
    ]);
    expect(await stagingDigest()).toEqual(before);
    expect(current()).toBe(published);
    expect(await lastRun()).toMatchObject({ status: 'failed', error: expect.stringMatching(/^refusing to load/), rows_deleted: null });

    // --allow-shrink: accepted and published.
    const allowed = await runPipelineProcess(dataDir, truncated, { env: env(), args: ['--allow-shrink'] });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await lastRun()).toMatchObject({ status: 'succeeded', rows_read: 75, rows_deleted: 225 });
    expect(current()).not.toBe(published);
    expect((await readSnapshot(join(dataDir, 'snapshots'))).manifest.source).toMatchObject({ rowsStaged: 75, run: { rowsDeleted: 225 } });

    // npm run ingest's script: refused the same way, then accepted with MUSIC_ALLOW_SHRINK=1.
    const tiny = await version('v4-', (n) => n <= 20 && n % 4 !== 0);
    const ingest = { script: 'scripts/ingest-csv.ts' };
    expect((await runPipelineProcess(dataDir, tiny, { ...ingest, env: env() })).code).toBe(65);
    const viaEnv = await runPipelineProcess(dataDir, tiny, { ...ingest, env: { ...env(), MUSIC_ALLOW_SHRINK: '1' } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(await lastRun()).toMatchObject({ status: 'succeeded', rows_read: 15, rows_deleted: 60 });
  }, 240_000);
});
