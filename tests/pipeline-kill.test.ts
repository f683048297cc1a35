import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { currentVersion, readSnapshot } from '../src/catalog/snapshot.js';
import { DATASET_PATH } from './helpers/dataset.js';
import { readDuckDbCopy, runPipelineProcess } from './helpers/pipeline-process.js';
import { prng } from '../scripts/lib/prng.js';
import { stdioBinTransport } from './helpers/server-process.js';

/**
 * kill -9 the pipeline (`scripts/pipeline.ts`, what `npm run pipeline` runs) in the middle of ingest,
 * then (rerun) in the middle of transform, then (rerun) in the middle of publish — the step is read from
 * its stderr progress lines, the moment within it is random — and finally let a rerun finish. The
 * result must equal the uninterrupted build of the global setup: the same row counts and checksums of
 * every mart, of the staged and raw rows (load times excluded) and of the published catalog, bit for
 * bit (the marts' means and deviations are order-independent sums, dbt/macros/stats.sql). A stdio
 * server started on the old snapshot keeps answering throughout, and moves to the new one.
 */

const STEPS = ['ingest', 'transform', 'publish'] as const;
/** Upper bound of the random wait after a step starts before the kill (the steps take ~2 / ~8 / ~3 s). */
const WITHIN_MS: Record<(typeof STEPS)[number], number> = { ingest: 600, transform: 4_000, publish: 1_000 };

interface Digest { counts: Record<string, number>; sums: Record<string, string> }

const sha256 = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');

/** Row counts and sha256 of every mart, and of staging/raw rows without their load times. */
async function warehouseDigest(duckdbPath: string): Promise<Digest> {
  return readDuckDbCopy(duckdbPath, async (conn) => {
    const tables = (await conn.runAndReadAll("select table_name from information_schema.tables where table_schema = 'marts' order by 1"))
      .getRowsJson().map((r) => `marts.${String(r[0])}`);
    const queries: Record<string, string> = Object.fromEntries(tables.map((t) => [t, `select * from ${t} order by all`]));
    queries['raw.tracks'] = 'select * exclude (loaded_at) from raw.tracks order by all';
    queries['raw.track_rejects'] = 'select * exclude (rejected_at) from raw.track_rejects order by all';
    queries['staging.tracks'] = 'select * exclude (loaded_at) from staging.tracks order by all';
    const digest: Digest = { counts: {}, sums: {} };
    for (const [name, sql] of Object.entries(queries)) {
      const rows = (await conn.runAndReadAll(sql)).getRowsJson();
      digest.counts[name] = rows.length;
      digest.sums[name] = sha256(rows);
    }
    return digest;
  });
}

/** The published catalog without its manifest (version and time differ between runs). */
async function snapshotDigest(snapshotDir: string): Promise<{ tracks: number; sum: string }> {
  const { tracks, artists, genres } = await readSnapshot(snapshotDir);
  return { tracks: tracks.track_id.length, sum: sha256({ tracks, artists, genres }) };
}

/** Run the pipeline; with `killIn`, SIGKILL it a random moment (below WITHIN_MS) after that step starts. */
async function runPipeline(dataDir: string, killIn?: (typeof STEPS)[number], rand = Math.random) {
  const delayMs = killIn ? Math.floor(rand() * WITHIN_MS[killIn]) : 0;
  return { ...(await runPipelineProcess(dataDir, DATASET_PATH, killIn ? { killIn, delayMs } : {})), delayMs };
}

describe('kill -9 of the pipeline during ingest, transform and publish, then a rerun', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-kill-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('ends with the same counts and checksums as an uninterrupted run, while a server keeps serving the old snapshot', async () => {
    const built = inject('builtDataDir');
    const reference = await warehouseDigest(join(built, 'warehouse.duckdb'));
    const referenceSnapshot = await snapshotDigest(join(built, 'snapshots'));

    // A server on the old snapshot (a copy of the uninterrupted build's), answering throughout.
    cpSync(join(built, 'snapshots'), join(dataDir, 'snapshots'), { recursive: true });
    const oldVersion = (await currentVersion(join(dataDir, 'snapshots')))!;
    const client = new Client({ name: 'during-kills', version: '1' });
    await client.connect(stdioBinTransport({ MUSIC_DATA_DIR: dataDir, MUSIC_SNAPSHOT_POLL_MS: '200' }));
    const versions: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const serving = (async () => {
      for (let n = 0; !stop; n++) {
        try {
          const r = (await client.callTool({ name: n % 2 ? 'tracks_by_artist' : 'recommend_by_genre', arguments: n % 2 ? { artist: 'Queen', limit: 5 } : { genre: 'latin', limit: 5 } })) as {
            isError?: boolean; content: { text?: string }[]; structuredContent?: { catalog: { version: string } };
          };
          if (r.isError) failures.push(r.content[0]?.text ?? 'isError');
          else versions.push(r.structuredContent!.catalog.version);
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    try {
      const seed = Date.now() % 1_000_000;
      const rand = prng(seed); // the kill moments vary per run; the seed is printed to replay one
      const runs: string[] = [];
      let kills = 0;
      for (const step of STEPS) {
        const r = await runPipeline(dataDir, step, rand);
        if (r.killed) kills++;
        runs.push(`${step}: ${r.killed ? `killed ${r.delayMs} ms in` : `finished before the kill (exit ${r.code})`}`);
        if (!r.killed) expect(r.code, r.stderr.slice(-2_000)).toBe(0);
        expect(failures, `calls failed during the run killed in ${step}`).toEqual([]);
      }
      const callsDuringKills = versions.length;
      const final = await runPipeline(dataDir);
      expect(final.code, final.stderr.slice(-2_000)).toBe(0);
      console.info(`pipeline kills (seed ${seed}): ${runs.join('; ')}; ${callsDuringKills} calls answered meanwhile`);

      expect(await warehouseDigest(join(dataDir, 'warehouse.duckdb'))).toEqual(reference);
      expect(await snapshotDigest(join(dataDir, 'snapshots'))).toEqual(referenceSnapshot);

      // Each killed run is recorded as abandoned (by the run after it), none is left 'running'.
      const statuses = await readDuckDbCopy(join(dataDir, 'warehouse.duckdb'), async (conn) =>
        (await conn.runAndReadAll('select status, error from ops.pipeline_runs order by started_at')).getRowObjectsJson() as { status: string; error: string | null }[]);
      expect(statuses).toHaveLength(STEPS.length + 1);
      expect(statuses.filter((r) => r.status === 'abandoned')).toHaveLength(kills);
      expect(statuses.filter((r) => r.status === 'succeeded')).toHaveLength(STEPS.length + 1 - kills);
      expect(statuses.at(-1)!.status).toBe('succeeded');
      for (const r of statuses.filter((x) => x.status === 'abandoned')) expect(r.error).toMatch(/ended without finishing/);

      // The server kept serving (the old snapshot until a publish completed), then moved to the new one.
      const newVersion = (await currentVersion(join(dataDir, 'snapshots')))!;
      expect(newVersion).not.toBe(oldVersion);
      while (versions[versions.length - 1] !== newVersion && failures.length === 0) await new Promise((res) => setTimeout(res, 50));
      expect(failures).toEqual([]);
      expect(callsDuringKills).toBeGreaterThan(0);
      expect(versions[0]).toBe(oldVersion);
    } finally {
      stop = true;
      await serving;
      await client.close();
    }
  }, 300_000);
});
