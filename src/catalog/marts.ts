/**
 * The published marts as the serving side sees them: track columns, artist and genre profiles, and the
 * manifest describing a snapshot. snapshot.ts stores these; catalog.ts serves them.
 */
import type { TrackFeature } from '../features.js';
import type { CatalogDistribution } from './distribution.js';

/** Audio features carried per track, in this order (the feature registry's per-track columns). */
export { TRACK_FEATURES, type TrackFeature } from '../features.js';

/** Column-oriented dim_tracks (+ bridge_track_artists as artist_keys). One array per column, same length. */
export interface TrackColumns {
  track_id: string[];
  track_name: (string | null)[];
  album_id: (string | null)[];
  album_name: (string | null)[];
  release_year: (number | null)[];
  artist_names: string[][];
  artist_keys: string[][];
  popularity: number[];
  duration_ms: number[];
  explicit: (boolean | null)[];
  key: number[];
  mode: number[];
  time_signature: (number | null)[];
  genres: string[][];
  subgenres: string[][];
  canonical_track_id: string[];
  features: Record<TrackFeature, number[]>;
}

export interface NamedCount { genre: string; track_count: number }

export interface ArtistProfile {
  artist_key: string;
  artist_name: string;
  track_count: number;
  genres: NamedCount[];
  subgenres: NamedCount[];
  popularity_mean: number | null;
  popularity_max: number | null;
  popularity_min: number | null;
  explicit_share: number | null;
  feature_means: Record<string, number | null>;
  top_tracks: { track_id: string; track_name: string | null; popularity: number }[];
  albums: { album_name: string | null; album_id: string | null; release_year: number | null; track_count: number }[];
  first_release_year: number | null;
  last_release_year: number | null;
  /**
   * Spotify enrichment (dim_artists `spotify_*`). null: the artist was not enriched (no credentials,
   * not found, ambiguous), or Spotify does not return the field to this app (development mode:
   * followers, popularity, genres), never 0. Absent in snapshots published before enrichment existed.
   */
  spotify_id?: string | null;
  spotify_followers?: number | null;
  spotify_popularity?: number | null;
  spotify_genres?: string[] | null;
  spotify_image_url?: string | null;
  spotify_url?: string | null;
  /** ISO UTC: when the Spotify API last returned these values. */
  spotify_fetched_at?: string | null;
}

export interface FeatureStats { mean: number | null; stddev: number | null; p10: number | null; p25: number | null; p50: number | null; p75: number | null; p90: number | null }

export interface GenreProfile {
  genre: string;
  genre_level: 'genre' | 'subgenre';
  parent_genre: string | null;
  track_count: number;
  artist_count: number;
  popularity_mean: number | null;
  explicit_share: number | null;
  features: Record<string, FeatureStats>;
  top_artists: string[];
}

export interface PipelineRunSummary {
  runId: string;
  startedAt: string;
  steps: string[];
  rowsRead: number | null;
  rowsStaged: number | null;
  rowsRejected: number | null;
  /** Rows of the source file staged by earlier runs that this run's ingest deleted; absent in older snapshots. */
  rowsDeleted?: number | null;
  modelsBuilt: number | null;
  testsPassed: number | null;
  testsFailed: number | null;
}

export interface SnapshotManifest {
  format: number;
  version: string;
  publishedAt: string;
  /** Where the data came from, and the last ingest's reconciliation. */
  source: {
    dataset: string | null; schema: string | null; rowsRead: number | null; rowsStaged: number | null; rowsRejected: number | null;
    /** The recorded pipeline run (ops.pipeline_runs) whose transform built these marts; absent in older snapshots. */
    run?: PipelineRunSummary | null;
  };
  counts: {
    tracks: number; artists: number; genres: number;
    /** Distinct songs (dim_tracks.song_key); absent in older snapshots. */
    songs?: number;
    /** Tracks folded into a song as another version of it (dim_tracks.is_folded_version), and the songs that hold them. */
    foldedVersions?: { tracks: number; songs: number };
  };
}

export interface Snapshot {
  manifest: SnapshotManifest;
  tracks: TrackColumns;
  artists: ArtistProfile[];
  genres: GenreProfile[];
  /** Percentiles and mood ranges of the tracks (distribution.ts), carried as the snapshot object `distribution`; absent in snapshots published before it existed. */
  distribution?: CatalogDistribution;
}
