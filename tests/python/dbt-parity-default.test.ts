/**
 * dbt-core and the embedded runner build the same marts from the product's default dataset
 * (../shared/data/spotify_tracks_maharshipandya.csv, 114,000 rows; MUSIC_DEFAULT_DATASET overrides):
 * row counts and order-independent checksums (doubles to 12 significant digits) equal in every mart
 * table. The TidyTuesday file's parity is asserted in dbt-core.test.ts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { compareTransformEngines } from '../../src/pipeline/mart-checksum.js';
import { venv } from '../helpers/python.js';

const py = venv('dbt');
const DEFAULT_DATASET =
  process.env.MUSIC_DEFAULT_DATASET ?? fileURLToPath(new URL('../../../shared/data/spotify_tracks_maharshipandya.csv', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'music-dbt-parity-default-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(py.run)(`dbt-core parity on the default dataset${py.skipNote}`, () => {
  it('builds marts equal to the embedded runner in every table (row counts and checksums)', async () => {
    py.assertPresent();
    expect(existsSync(DEFAULT_DATASET), `default dataset not found at ${DEFAULT_DATASET}; set MUSIC_DEFAULT_DATASET`).toBe(true);
    const started = Date.now();
    const parity = await compareTransformEngines({ dataset: DEFAULT_DATASET, dbt: py.bin('dbt'), workDir: work, log: silentLogger });
    console.error(
      `dbt-core parity on ${DEFAULT_DATASET}: ${Date.now() - started} ms (transform: embedded ${parity.transformMs.embedded} ms, dbt-core ${parity.transformMs.core} ms); ` +
        `rows: ${parity.embedded.map((t) => `${t.table} ${t.rows}`).join(', ')}`,
    );
    expect(parity.embedded.map((t) => t.table)).toEqual(['artist_profiles', 'bridge_track_artists', 'bridge_track_genres', 'dim_artists', 'dim_tracks', 'genre_profiles']);
    // The default dataset's 89,740 tracks and 114 genres (the dataset card's figures).
    expect(parity.embedded.find((t) => t.table === 'dim_tracks')!.rows).toBe(89_740);
    expect(parity.embedded.find((t) => t.table === 'genre_profiles')!.rows).toBe(114);
    expect(parity.core).toEqual(parity.embedded);
    expect(parity.differing).toEqual([]);
  });
});
