/**
 * The CSV layouts the pipeline recognises, by header. Both map onto one staging schema
 * (see src/pipeline/ingest.ts).
 */
import { STAGED_FEATURES } from '../features.js';

export type CsvSchemaName = 'maharshipandya' | 'tidytuesday';

export interface CsvSchema {
  readonly name: CsvSchemaName;
  readonly title: string;
  /** Columns that must all be present in the header (order free, extra columns allowed). */
  readonly required: readonly string[];
  /** Columns the layout may have and the ingest ignores without a word (e.g. a pandas index). */
  readonly optional: readonly string[];
}

/** The feature block's header cells, the same in every layout (src/features.ts). */
const FEATURE_HEADERS = STAGED_FEATURES.map((f) => f.staged!.header);

/** Kaggle "Spotify Tracks Dataset" (maharshipandya): one row per (track, genre). */
export const MAHARSHIPANDYA: CsvSchema = {
  name: 'maharshipandya',
  title: 'Kaggle Spotify Tracks Dataset (maharshipandya)',
  required: [
    'track_id', 'artists', 'album_name', 'track_name', 'popularity', 'duration_ms', 'explicit',
    ...FEATURE_HEADERS, 'time_signature', 'track_genre',
  ],
  // The unnamed first column is the pandas row index of the export.
  optional: ['', 'unnamed: 0'],
};

/** TidyTuesday 2020-01-21 "Spotify Songs": one row per (track, playlist). */
export const TIDYTUESDAY: CsvSchema = {
  name: 'tidytuesday',
  title: 'TidyTuesday Spotify Songs (2020-01-21)',
  required: [
    'track_id', 'track_name', 'track_artist', 'track_popularity', 'track_album_id',
    'track_album_name', 'track_album_release_date', 'playlist_name', 'playlist_id',
    'playlist_genre', 'playlist_subgenre', ...FEATURE_HEADERS, 'duration_ms',
  ],
  optional: [],
};

export const CSV_SCHEMAS: readonly CsvSchema[] = [MAHARSHIPANDYA, TIDYTUESDAY];

export type SchemaDetection =
  | {
      ok: true;
      schema: CsvSchema;
      /** Header cells that are neither required nor optional in the layout, as written (not staged; listed in the run record). */
      extraColumns: string[];
    }
  | { ok: false; message: string };

/** A header cell as compared: BOM (first cell) dropped, trimmed, lowercase. */
export function headerName(cell: string, index: number): string {
  return (index === 0 ? cell.replace(/^\uFEFF/, '') : cell).trim().toLowerCase();
}

/**
 * Recognise a layout by its header names: order free, extra columns allowed (returned). Cells are
 * trimmed and compared case-insensitively; a BOM is ignored. Missing columns: a message naming them for
 * every known layout, closest first.
 */
export function detectSchema(header: readonly string[]): SchemaDetection {
  const names = header.map(headerName);
  const cells = new Set(names);
  for (const schema of CSV_SCHEMAS) {
    if (!schema.required.every((c) => cells.has(c))) continue;
    const known = new Set([...schema.required, ...schema.optional]);
    const extraColumns = header
      .map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim())
      .filter((_, i) => !known.has(names[i]!));
    return { ok: true, schema, extraColumns };
  }
  const byMissing = CSV_SCHEMAS.map((s) => ({ s, missing: s.required.filter((c) => !cells.has(c)) })).sort(
    (a, b) => a.missing.length - b.missing.length,
  );
  const [closest, ...others] = byMissing;
  return {
    ok: false,
    message:
      `unrecognised CSV header (${header.slice(0, 8).map(quoteCell).join(',')}${header.length > 8 ? ',…' : ''}); ` +
      `closest layout is ${closest!.s.title}, which also needs: ${closest!.missing.join(', ')}` +
      others.map((o) => `; ${o.s.title} needs: ${o.missing.join(', ')}`).join('') +
      ` (known layouts: ${CSV_SCHEMAS.map((s) => s.name).join(', ')}; columns are matched by name, in any order)`,
  };
}

/** A header cell as shown in a message: delimited as data (JSON string, control characters escaped), at most 60 characters. */
function quoteCell(cell: string): string {
  return JSON.stringify(cell.length > 60 ? `${cell.slice(0, 60)}…` : cell);
}
