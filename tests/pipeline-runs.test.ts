import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDatasetCard } from '../resources/dataset-card.js';
import { Catalog } from '../src/catalog/catalog.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { PipelineRunRecorder } from '../src/pipeline/runs.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { writeDatasetVersion } from './helpers/dataset.js';
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
    (await session.all<{ status: string; error: string | null; steps: string }>(`SELECT status, error, steps FROM ops.pipeline_runs WHERE run_id = '${runId}'`))[0];

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
