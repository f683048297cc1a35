// The Spotify staging store binds every value: names and payloads that look like SQL stay data, on
// DuckDB and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpotifyStagingStore } from '../src/spotify/staging.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import type { BindingSqlSession } from '../src/warehouse/port.js';
import { PostgresSession } from '../src/warehouse/postgres-session.js';
import { createScratchDatabase, postgresUnavailable, type ScratchDatabase } from './helpers/postgres.js';

/** Text that breaks SQL built by splicing: quotes, a statement terminator, a comment, a placeholder, a backslash. */
const HOSTILE = `O'Brien''s "Band"; DROP TABLE staging.spotify_artists; -- $1 \\' \n\u2028 🎸`;

async function roundTrip(session: BindingSqlSession): Promise<void> {
  const store = new SpotifyStagingStore(session);
  await store.ensureSchema();
  const at = new Date('2026-01-02T03:04:05.678Z');
  const payload = { id: 'sp1', name: HOSTILE, genres: [HOSTILE], images: [] };
  const first = await store.upsertArtists([{ id: 'sp1', artistKey: HOSTILE, payload }], at);
  expect(first).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
  // The same payload again is recognised as unchanged (the key lookup binds the id too).
  expect(await store.upsertArtists([{ id: 'sp1', artistKey: HOSTILE, payload }], at)).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
  const albums = await store.upsertArtistAlbums('sp1', [{ id: `al'1`, payload: { id: `al'1`, name: HOSTILE } }], at);
  expect(albums).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
  await store.upsertResolution({
    artistKey: HOSTILE, artistName: HOSTILE, spotifyId: 'sp1', confidence: 0.9, method: 'search-unique-name', resolvedAt: at,
  });

  const artists = await session.all<{ artist_key: string; payload: string | object }>(
    'SELECT artist_key, payload FROM staging.spotify_artists',
  );
  expect(artists).toHaveLength(1);
  expect(artists[0]!.artist_key).toBe(HOSTILE);
  const stored = typeof artists[0]!.payload === 'string' ? JSON.parse(artists[0]!.payload) : artists[0]!.payload;
  expect(stored).toEqual(payload);
  const resolution = await session.all<{ artist_name: string; spotify_id: string }>(
    'SELECT artist_name, spotify_id FROM staging.artist_resolution',
  );
  expect(resolution).toEqual([{ artist_name: HOSTILE, spotify_id: 'sp1' }]);
  // The album listing was stamped with the bound timestamp, and the freshness queries bind their cutoff.
  expect(await store.staleAlbumListings(new Date('2026-01-01T00:00:00Z'))).toEqual([]);
  expect(await store.staleAlbumListings(new Date('2026-01-03T00:00:00Z'))).toEqual(['sp1']);
  expect(await store.staleArtists(new Date('2026-01-03T00:00:00Z'))).toEqual([{ spotify_id: 'sp1', artist_key: HOSTILE }]);
}

describe('Spotify staging binds names and payloads as data', () => {
  it('on DuckDB', async () => {
    const session = await DuckDbSession.open(':memory:');
    try {
      await roundTrip(session);
    } finally {
      await session.close();
    }
  });

  describe('on PostgreSQL', () => {
    let unavailable: string | null = null;
    let db: ScratchDatabase | undefined;
    beforeAll(async () => {
      unavailable = await postgresUnavailable();
      if (!unavailable) db = await createScratchDatabase('music_spotify_staging');
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('on PostgreSQL', async (ctx) => {
      if (unavailable) ctx.skip();
      const session = await PostgresSession.open(db!.url);
      try {
        await roundTrip(session);
      } finally {
        await session.close();
      }
    });
  });
});
