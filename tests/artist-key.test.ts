/**
 * The artist key is defined once, by the dbt project (normalize_name in dbt/macros/text.sql): the
 * enrichment keys its resolutions with the SQL that macro compiles to, so a resolution joins the artist
 * int_track_artists and the marts key the same way (accents, case, Unicode spacing, punctuation).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { enrichArtists } from '../src/pipeline/enrich.js';
import type { SpotifyApi } from '../src/spotify/index.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DuckDbStagingStore } from '../src/warehouse/staging.js';

/** A Spotify that knows no artist: every dataset artist resolves to 'not-found' under its key, with no network. */
const nobody: SpotifyApi = {
  searchArtists: async () => ({ items: [], total: 0, offset: 0, limit: 10, nextOffset: null }),
  getTracks: async (ids) => ids.map(() => null),
  getArtist: async () => {
    throw new Error('not called: nothing resolves');
  },
  getArtists: async () => [],
  getArtistAlbums: async () => ({ items: [], total: 0, offset: 0, limit: 50, nextOffset: null }),
  getArtistTopTracks: async () => {
    throw new Error('not called');
  },
  searchTracks: async () => ({ items: [], total: 0, offset: 0, limit: 10, nextOffset: null }),
  capabilities: () => ({ mode: 'unknown' }) as unknown as ReturnType<SpotifyApi['capabilities']>,
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'artist-key-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function stagingWith(name: string, credits: string[]): Promise<DuckDbSession> {
  const session = await DuckDbSession.open(join(dir, `${name}.duckdb`));
  await new DuckDbStagingStore(session).ensureSchema();
  const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const values = credits.map(
    (artists, i) =>
      `('k${i}', 'tidytuesday', 'songs.csv', ${i + 2}, '${String(i).padStart(22, '0')}', 'x', ${sql(artists)}, 'pop', 'h${i}', TIMESTAMP '2026-01-01 00:00:00')`,
  );
  await session.run(`INSERT INTO staging.tracks (row_key, source_schema, source_file, source_line, track_id, track_name, artist_names, genre, row_hash, loaded_at)
VALUES ${values.join(', ')}`);
  return session;
}

async function resolvedKeys(session: DuckDbSession): Promise<Record<string, string>> {
  const rows = await session.all<{ artist_key: string; artist_name: string }>('SELECT artist_key, artist_name FROM staging.artist_resolution ORDER BY artist_key');
  return Object.fromEntries(rows.map((r) => [r.artist_name, r.artist_key]));
}

describe('the artist key of the enrichment', () => {
  it('is dbt\'s normalize_name: lowercase, accents stripped, Unicode spacing collapsed, punctuation and "The" kept, blanks dropped', async () => {
    const session = await stagingWith('tricky', [
      'Sigur Rós',
      'MOTÖRHEAD',
      'The\u00a0Beatles', // no-break space
      '宇多田\u3000ヒカル', // ideographic space
      'AC/DC;Guns N\' Roses',
      'Daft\tPunk',
      'Ásgeir;  ', // a blank credit after the separator
    ]);
    try {
      await enrichArtists({ session, spotify: nobody, skipAlbums: true, onProgress: () => undefined });
      expect(await resolvedKeys(session)).toEqual({
        'Sigur Rós': 'sigur ros',
        'MOTÖRHEAD': 'motorhead',
        'The\u00a0Beatles': 'the beatles',
        '宇多田\u3000ヒカル': '宇多田 ヒカル',
        'AC/DC': 'ac/dc',
        'Guns N\' Roses': 'guns n\' roses',
        'Daft\tPunk': 'daft punk',
        'Ásgeir': 'asgeir',
      });
    } finally {
      await session.close();
    }
  });

  it('joins the artists dbt keyed from the same staged tracks (the built catalog, non-ASCII and oddly spaced names)', async () => {
    const built = join(inject('builtDataDir'), 'warehouse.duckdb');
    const session = await DuckDbSession.open(join(dir, 'real.duckdb'));
    try {
      await new DuckDbStagingStore(session).ensureSchema();
      await session.run(`ATTACH ${`'${built.replaceAll("'", "''")}'`} AS built (READ_ONLY)`);
      // Tracks whose credits hold letters outside ASCII or runs of spaces: where a second definition of the key would drift.
      await session.run(`INSERT INTO staging.tracks SELECT * FROM built.staging.tracks
        WHERE regexp_matches(artist_names, '[^\\x00-\\x7f]|\\s\\s')`);
      const report = await enrichArtists({ session, spotify: nobody, skipAlbums: true, maxArtists: 400, onProgress: () => undefined });
      expect(report.unresolved).toBeGreaterThanOrEqual(100);
      const missing = await session.all<{ artist_key: string }>(`SELECT r.artist_key FROM staging.artist_resolution r
        WHERE r.artist_key NOT IN (SELECT artist_key FROM built.marts.dim_artists) ORDER BY 1`);
      expect(missing).toEqual([]);
      const accented = await session.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM staging.artist_resolution WHERE artist_name <> strip_accents(artist_name)`);
      expect(accented[0]!.n).toBeGreaterThan(0);
    } finally {
      await session.close();
    }
  });
});
