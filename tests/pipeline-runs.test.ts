import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineRunRecorder } from '../src/pipeline/runs.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';

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
