/**
 * The CSV layouts the pipeline recognises, by header. Both map onto one staging schema
 * (see src/pipeline/ingest.ts).
 */
export type CsvSchemaName = 'maharshipandya' | 'tidytuesday';

export interface CsvSchema {
  readonly name: CsvSchemaName;
  readonly title: string;
  /** Columns that must all be present in the header (order free, extra columns allowed). */
  readonly required: readonly string[];
}

/** Kaggle "Spotify Tracks Dataset" (maharshipandya): one row per (track, genre). */
export const MAHARSHIPANDYA: CsvSchema = {
  name: 'maharshipandya',
  title: 'Kaggle Spotify Tracks Dataset (maharshipandya)',
  required: [
    'track_id', 'artists', 'album_name', 'track_name', 'popularity', 'duration_ms', 'explicit',
    'danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness',
    'instrumentalness', 'liveness', 'valence', 'tempo', 'time_signature', 'track_genre',
  ],
};

/** TidyTuesday 2020-01-21 "Spotify Songs": one row per (track, playlist). */
export const TIDYTUESDAY: CsvSchema = {
  name: 'tidytuesday',
  title: 'TidyTuesday Spotify Songs (2020-01-21)',
  required: [
    'track_id', 'track_name', 'track_artist', 'track_popularity', 'track_album_id',
    'track_album_name', 'track_album_release_date', 'playlist_name', 'playlist_id',
    'playlist_genre', 'playlist_subgenre', 'danceability', 'energy', 'key', 'loudness', 'mode',
    'speechiness', 'acousticness', 'instrumentalness', 'liveness', 'valence', 'tempo', 'duration_ms',
  ],
};

export const CSV_SCHEMAS: readonly CsvSchema[] = [MAHARSHIPANDYA, TIDYTUESDAY];

export type SchemaDetection =
  | { ok: true; schema: CsvSchema }
  | { ok: false; message: string };

/** Recognise a header row. Cells are trimmed and compared case-insensitively; a BOM is ignored. */
export function detectSchema(header: readonly string[]): SchemaDetection {
  const cells = new Set(header.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim().toLowerCase()));
  for (const schema of CSV_SCHEMAS) {
    if (schema.required.every((c) => cells.has(c))) return { ok: true, schema };
  }
  const closest = CSV_SCHEMAS.map((s) => ({ s, missing: s.required.filter((c) => !cells.has(c)) })).sort(
    (a, b) => a.missing.length - b.missing.length,
  )[0]!;
  return {
    ok: false,
    message:
      `unrecognised CSV header (${header.slice(0, 8).map(quoteCell).join(',')}${header.length > 8 ? ',…' : ''}); ` +
      `closest layout is ${closest.s.title}, which also needs: ${closest.missing.join(', ')}`,
  };
}

/** A header cell as shown in a message: delimited as data (JSON string, control characters escaped), at most 60 characters. */
function quoteCell(cell: string): string {
  return JSON.stringify(cell.length > 60 ? `${cell.slice(0, 60)}…` : cell);
}
