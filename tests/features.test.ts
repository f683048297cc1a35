import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DESCRIBED_FEATURES, FEATURE_BOUNDS, FEATURES, FRACTION_FEATURES, PROFILED_FEATURES, STAGED_FEATURE_NAMES, TRACK_FEATURES,
} from '../src/features.js';
import { CSV_SCHEMAS } from '../src/pipeline/csv-schemas.js';
import { rowHash } from '../src/pipeline/row-hash.js';
import { silentLogger } from '../src/log.js';
import { ingestCsv } from '../src/pipeline/ingest.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { PostgresStagingStore } from '../src/warehouse/postgres-staging.js';
import { DuckDbStagingStore, stagingDdl, TRACK_COLUMNS, type StagedTrack, type StagingStore } from '../src/warehouse/staging.js';
import { DATASET_MD, GLOSSARY_PROSE } from '../resources/glossary.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { createScratchDatabase, postgresUnavailable } from './helpers/postgres.js';

const unavailable = await postgresUnavailable();
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'features-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const dbtFile = (path: string) => readFileSync(join(REPO_ROOT, 'dbt', path), 'utf8');

describe('the feature registry and the dbt project agree', () => {
  it('the dbt var audio_features is the registry’s profiled features, in order (publish reads exactly these profile columns)', () => {
    const project = parse(dbtFile('dbt_project.yml')) as { vars: { audio_features: string[] } };
    expect(project.vars.audio_features).toEqual(PROFILED_FEATURES);
  });

  it('the staging model casts every staged feature to the registry’s type, and the source declares it', () => {
    const model = dbtFile('models/staging/stg_raw__tracks.sql');
    for (const f of FEATURES) {
      if (!('staged' in f)) continue;
      const type = f.integer ? 'integer' : 'double precision';
      expect(model, f.name).toContain(`cast(${f.name} as ${type}) as ${f.name}`);
    }
    const sources = parse(dbtFile('models/staging/_sources.yml')) as { sources: { tables: { name: string; columns: { name: string }[] }[] }[] };
    const tracks = sources.sources.flatMap((s) => s.tables).find((t) => t.name === 'tracks')!;
    expect(tracks.columns.map((c) => c.name)).toEqual(expect.arrayContaining(STAGED_FEATURE_NAMES));
  });

  it('dim_tracks carries every per-track feature the snapshot stores', () => {
    const model = dbtFile('models/marts/dim_tracks.sql');
    for (const f of TRACK_FEATURES) expect(model, f).toMatch(new RegExp(`\\btracks\\.${f},`));
  });
});

describe('the registry drives staging, ingest and hashing', () => {
  it('staging.tracks has the feature block between explicit and time_signature, INTEGER or DOUBLE as registered', () => {
    const names = TRACK_COLUMNS.map((c) => c.name);
    const from = names.indexOf('explicit') + 1;
    expect(names.slice(from, from + STAGED_FEATURE_NAMES.length + 1)).toEqual([...STAGED_FEATURE_NAMES, 'time_signature']);
    const ddl = stagingDdl();
    for (const f of FEATURES) if ('staged' in f) expect(ddl).toContain(`"${f.name}" ${f.integer ? 'INTEGER' : 'DOUBLE'},`);
  });

  it('every known CSV layout requires each staged feature’s header', () => {
    for (const schema of CSV_SCHEMAS) {
      for (const f of FEATURES) if ('staged' in f) expect(schema.required, `${schema.name} ${f.name}`).toContain(f.staged.header);
    }
  });

  it('a staged row hashes as it did before the registry (rows staged earlier are not rewritten)', () => {
    // Values of the default dataset's first row; the hashes were computed by the hand-written encoder the registry replaced.
    const row = {
      row_key: 'x', source_schema: 'maharshipandya', source_file: 'f.csv', source_line: 2,
      track_id: '5SuOikwiRyPMVoIQDJUgSV', track_name: 'Comedy', artist_names: 'Gen Hoshino', artist_credits: 'Gen Hoshino',
      album_id: null, album_name: 'Comedy', album_release_date: null, playlist_id: null, playlist_name: null,
      genre: 'acoustic', subgenre: null, popularity: 73, duration_ms: 230666, explicit: false,
      danceability: 0.676, energy: 0.461, key: 1, loudness: -6.746, mode: 0, speechiness: 0.143, acousticness: 0.0322,
      instrumentalness: 0.00000101, liveness: 0.358, valence: 0.715, tempo: 87.917, time_signature: 4, row_hash: '',
    } satisfies StagedTrack;
    expect(rowHash(row)).toBe('120e6d6823ca4d66a9cf4443ff98853e');
    expect(rowHash({ ...row, time_signature: null, explicit: null, key: -1, tempo: 0 })).toBe('db0c9afd8a75b31a20ec385195179b1d');
    // Every feature of the block is hashed: changing any one changes the hash.
    for (const f of STAGED_FEATURE_NAMES) expect(rowHash({ ...row, [f]: null }), f).not.toBe('120e6d6823ca4d66a9cf4443ff98853e');
  });
});

/** The last column of the feature block, as a feature added to the registry would be. */
const NEWEST = STAGED_FEATURE_NAMES[STAGED_FEATURE_NAMES.length - 1]!;
const HEADER = 'track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre';

/** Ingest one row into `store` whose staging.tracks was made without NEWEST; returns the staged value of NEWEST. */
async function ingestIntoOldTable(store: StagingStore, dropColumn: (sql: string) => Promise<unknown>, read: () => Promise<unknown>): Promise<unknown> {
  await store.ensureSchema();
  await dropColumn(`ALTER TABLE staging.tracks DROP COLUMN ${NEWEST}`);
  const path = join(tmp, `old-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(path, `${HEADER}\nb0000000000000000000001,Khea,A,T,50,200000,False,0.5,0.5,1,-6,1,0.1,0.1,0,0.1,0.5,120,4,latin\n`);
  await ingestCsv({ path, store, log: silentLogger });
  return read();
}

describe('a staging table made before a feature existed', () => {
  it('gets the column (DuckDB), and the next ingest fills it', async () => {
    const session = await DuckDbSession.open(join(tmp, 'old.duckdb'));
    try {
      const value = await ingestIntoOldTable(
        new DuckDbStagingStore(session),
        (sql) => session.run(sql),
        async () => (await session.all<Record<string, unknown>>(`SELECT ${NEWEST} AS v FROM staging.tracks`))[0]?.v,
      );
      expect(value).toBe(120);
    } finally {
      await session.close();
    }
  });

  it.skipIf(unavailable !== null)(`gets the column (PostgreSQL), and the next ingest fills it${unavailable ? ` (skipped: ${unavailable})` : ''}`, async () => {
    const db = await createScratchDatabase();
    const store = new PostgresStagingStore(db.url);
    try {
      const value = await ingestIntoOldTable(
        store,
        (sql) => db.query(sql),
        async () => (await db.query<{ v: number }>(`SELECT ${NEWEST} AS v FROM staging.tracks`))[0]?.v,
      );
      expect(value).toBe(120);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe('the registry drives the words', () => {
  it('the glossary has one section per described feature, in glossary order, with its word bands available', () => {
    const headings = GLOSSARY_PROSE.split('\n').filter((l) => l.startsWith('### ')).map((l) => l.slice(4));
    expect(headings.slice(0, DESCRIBED_FEATURES.length)).toEqual(DESCRIBED_FEATURES);
    expect(GLOSSARY_PROSE).not.toContain('<!--');
  });

  it('the dataset card lists the 0–1 features', () => {
    expect(DATASET_MD).toContain(`| ${FRACTION_FEATURES.join(', ')} | Spotify audio features, 0–1`);
    expect(DATASET_MD).not.toContain('{{');
  });

  it('the tools bound every registered feature, within its ingest range where it is staged', () => {
    expect(Object.keys(FEATURE_BOUNDS)).toEqual(FEATURES.map((f) => f.name).sort());
    for (const f of FEATURES) {
      if (!('staged' in f)) continue;
      expect(f.bounds.min, f.name).toBeGreaterThanOrEqual(f.staged.min);
      expect(f.bounds.max, f.name).toBeLessThanOrEqual(f.staged.max);
    }
  });
});
