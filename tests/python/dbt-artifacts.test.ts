/**
 * The embedded runner's target/run_results.json and target/manifest.json, read by dbt-core's own
 * artifact classes (.venv-dbt): what a tool built on dbt's artifacts would do with them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DbtRunError, runDbtProject } from '../../src/pipeline/dbt/index.js';
import { DuckDbSession } from '../../src/warehouse/duckdb.js';
import { REPO_ROOT } from '../helpers/dataset.js';
import { venv } from '../helpers/python.js';

const py = venv('dbt');
const work = mkdtempSync(join(tmpdir(), 'music-dbt-artifacts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LOAD = `
import json, sys
from dbt.artifacts.schemas.run import RunResultsArtifact
from dbt.contracts.graph.manifest import WritableManifest
target = sys.argv[1]
results = RunResultsArtifact.from_dict(json.load(open(target + '/run_results.json')))
manifest = WritableManifest.from_dict(json.load(open(target + '/manifest.json')))
print(json.dumps({
  'results': {r.unique_id: [str(r.status), r.failures] for r in results.results},
  'nodes': {k: [n.resource_type, n.config.materialized, sorted(n.depends_on.nodes)] for k, n in manifest.nodes.items()},
}))
`;

describe.runIf(py.run)(`embedded runner artifacts read by dbt-core${py.skipNote}`, () => {
  it('run_results.json and manifest.json of a failed run load through RunResultsArtifact and WritableManifest', async () => {
    py.assertPresent();
    const projectDir = join(work, 'mini');
    cpSync(join(REPO_ROOT, 'tests/fixtures/dbt-mini'), projectDir, { recursive: true });
    const session = await DuckDbSession.open(':memory:');
    try {
      await session.run('CREATE SCHEMA raw');
      await session.run('CREATE TABLE raw.raw_tracks (track_id VARCHAR, genre VARCHAR, popularity INTEGER, artist_id VARCHAR, mode INTEGER, loaded_at TIMESTAMP)');
      // t1 twice: the uniqueness test on dim_tracks.track_id fails.
      await session.run("INSERT INTO raw.raw_tracks VALUES ('t1', 'pop', 80, 'a1', 1, TIMESTAMP '2024-01-01 00:00:00'), ('t1', 'pop', 80, 'a1', 1, TIMESTAMP '2024-01-01 00:00:00'), ('t2', 'rock', 20, 'a1', 0, TIMESTAMP '2024-01-01 00:00:00')");
      await session.run('CREATE TABLE raw.artists (artist_id VARCHAR, artist_name VARCHAR)');
      await session.run("INSERT INTO raw.artists VALUES ('a1', 'First')");
      await expect(runDbtProject({ projectDir, session })).rejects.toBeInstanceOf(DbtRunError);
    } finally {
      await session.close();
    }
    const out = spawnSync(py.bin('python'), ['-c', LOAD, join(projectDir, 'target')], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const read = JSON.parse(out.stdout) as { results: Record<string, [string, number | null]>; nodes: Record<string, [string, string, string[]]> };
    expect(read.results['model.mini.stg_artists']).toEqual(['success', null]);
    const failed = Object.entries(read.results).filter(([, [status]]) => status === 'fail');
    expect(failed.length).toBeGreaterThan(0);
    for (const [id, [, failures]] of failed) {
      expect(id).toMatch(/^test\.mini\.\w*unique_\w+_track_id\.[0-9a-f]{10}$/);
      expect(failures).toBe(1);
      expect(read.nodes[id]![0]).toBe('test');
    }
    expect(read.nodes['model.mini.dim_tracks']).toEqual(['model', 'table', ['model.mini.stg_tracks']]);
  });
});
