/** One valid call per tool on the test catalog (TidyTuesday): what the client tests send to every tool. */
export const TOOL_ARGS: Record<string, Record<string, unknown>> = {
  recommend_by_genre: { genre: 'latin', limit: 3, min_energy: 0.7 },
  similar_tracks: { seed_tracks: ['Halo – Beyoncé'], limit: 3 },
  tracks_by_artist: { artist: 'queen', limit: 3 },
  artist_metadata: { artist: 'Queen' },
  search_music_knowledge: { query: 'reggaeton' },
  sequence_playlist: { tracks: ['Bohemian Rhapsody – Queen', 'Bicycle Race – Queen', 'Brighton Rock – Queen'], arc: 'rising' },
};
