import type { Snapshot } from '../../src/catalog/snapshot.js';

/** A one-track snapshot (as writeSnapshot takes it) whose track is called `name`. */
export function tinySnapshot(name: string): Omit<Snapshot, 'manifest'> & { manifest: Omit<Snapshot['manifest'], 'version' | 'format'> } {
  const f = (v: number) => [v];
  return {
    manifest: { publishedAt: new Date().toISOString(), source: { dataset: 'x.csv', schema: 'tidytuesday', rowsRead: 1, rowsStaged: 1, rowsRejected: 0 }, counts: { tracks: 1, artists: 1, genres: 1 } },
    tracks: {
      track_id: ['t1'], track_name: [name], album_id: [null], album_name: [null], release_year: [2020], artist_names: [['A']], artist_keys: [['a']],
      popularity: [50], duration_ms: [1000], explicit: [null], key: [1], mode: [1], time_signature: [null], genres: [['pop']], subgenres: [[]],
      canonical_track_id: ['t1'],
      features: { danceability: f(0.5), energy: f(0.5), loudness: f(-5), speechiness: f(0.1), acousticness: f(0.1), instrumentalness: f(0), liveness: f(0.1), valence: f(0.5), tempo: f(120) },
    },
    artists: [],
    genres: [],
  };
}
