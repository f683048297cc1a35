import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { readSnapshot } from '../src/catalog/snapshot.js';
import type { PipelineReport } from '../src/pipeline/run.js';

// The whole pipeline (acquire → ingest → load → transform → publish) ran once on the real
// TidyTuesday file in tests/global-setup.ts; these are the figures a user relies on.
const report = JSON.parse(inject('pipelineReport')) as PipelineReport;

describe('pipeline on the real dataset', () => {
  it('recognises the layout and reconciles counts: read = staged + rejected', () => {
    expect(report.dataset!.schema.name).toBe('tidytuesday');
    const i = report.ingest!;
    expect(i.rowsRead).toBe(32_833);
    expect(i.rowsStaged + i.rowsRejected).toBe(i.rowsRead);
    expect(i.rowsRejected).toBe(0);
    expect(report.load!.tracks).toBe(i.rowsStaged);
  });

  it('builds every model and passes every dbt test', () => {
    const t = report.transform!;
    expect(t.ok).toBe(true);
    expect(t.models.map((m) => m.name)).toEqual(expect.arrayContaining(['dim_tracks', 'dim_artists', 'bridge_track_artists', 'bridge_track_genres', 'genre_profiles', 'artist_profiles']));
    expect(t.tests.length).toBeGreaterThan(50);
    expect(t.tests.filter((x) => x.status === 'fail')).toEqual([]);
  });

  it('publishes one catalog entry per distinct track, artist and genre label', async () => {
    expect(report.publish).toMatchObject({ tracks: 28_356, genres: 30 });
    const snap = await readSnapshot(join(inject('builtDataDir'), 'snapshots'));
    expect(snap.manifest.version).toBe(report.publish!.version);
    expect(snap.manifest.source).toMatchObject({ rowsRead: 32_833, rowsStaged: 32_833, rowsRejected: 0, schema: 'tidytuesday' });
    expect(new Set(snap.tracks.track_id).size).toBe(28_356);
    expect(snap.artists.length).toBe(report.publish!.artists);
    const top = snap.genres.filter((g) => g.genre_level === 'genre').map((g) => g.genre).sort();
    expect(top).toEqual(['edm', 'latin', 'pop', 'r&b', 'rap', 'rock']);
    for (const g of snap.genres.filter((x) => x.genre_level === 'subgenre')) expect(top).toContain(g.parent_genre);
  });
});
