/**
 * CSV ingest: stream a dataset file, map either layout (maharshipandya, tidytuesday) onto the one
 * staging row shape, validate, and stage it through a `StagingStore` (valid rows → staging.tracks,
 * everything else → staging.track_rejects with its line number and an actionable reason).
 *
 * Invariants: rows read = rows staged + rows rejected; a reject never stops the load; the file is
 * applied to staging in one transaction at the end (a failed or aborted load changes nothing);
 * memory stays bounded (records are mapped as they stream and appended in batches).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse';
import { DatasetError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { detectSchema, type CsvSchemaName } from './csv-schemas.js';
import type { StagedReject, StagedTrack, StagingLoad, StagingStore } from '../warehouse/staging.js';

export interface IngestReport {
  file: string;
  schema: CsvSchemaName;
  rowsRead: number;
  rowsStaged: number;
  rowsRejected: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Rejected rows by category (a row with several problems counts under its first). */
  rejectReasons: Record<string, number>;
  ms: number;
}

export type RejectCategory =
  | 'ragged_row'
  | 'missing_track_id'
  | 'missing_genre'
  | 'missing_value'
  | 'not_a_number'
  | 'not_an_integer'
  | 'out_of_range'
  | 'invalid_boolean'
  | 'duplicate';

export type MappedRecord =
  | { ok: true; row: StagedTrack }
  | { ok: false; category: RejectCategory; reason: string };

const BATCH_SIZE = 10_000;
const PROGRESS_EVERY = 25_000;

/** Staging column ← source column, per layout. `null` = the layout has no such column (NULL). */
interface Layout {
  readonly track_id: string;
  readonly track_name: string;
  readonly artist_names: string;
  readonly album_id: string | null;
  readonly album_name: string;
  readonly album_release_date: string | null;
  readonly playlist_id: string | null;
  readonly playlist_name: string | null;
  readonly genre: string;
  readonly subgenre: string | null;
  readonly popularity: string;
  readonly explicit: string | null;
  readonly time_signature: string | null;
  /** Cell values that mean "no value" in text columns besides the empty cell. */
  readonly nullTokens: ReadonlySet<string>;
}

const LAYOUTS: Record<CsvSchemaName, Layout> = {
  // pandas export: missing text is an empty cell.
  maharshipandya: {
    track_id: 'track_id',
    track_name: 'track_name',
    artist_names: 'artists',
    album_id: null,
    album_name: 'album_name',
    album_release_date: null,
    playlist_id: null,
    playlist_name: null,
    genre: 'track_genre',
    subgenre: null,
    popularity: 'popularity',
    explicit: 'explicit',
    time_signature: 'time_signature',
    nullTokens: new Set(['']),
  },
  // R export: missing text is the literal NA (5 rows in the 2020-01-21 file have NA track/artist/album names).
  tidytuesday: {
    track_id: 'track_id',
    track_name: 'track_name',
    artist_names: 'track_artist',
    album_id: 'track_album_id',
    album_name: 'track_album_name',
    album_release_date: 'track_album_release_date',
    playlist_id: 'playlist_id',
    playlist_name: 'playlist_name',
    genre: 'playlist_genre',
    subgenre: 'playlist_subgenre',
    popularity: 'track_popularity',
    explicit: null,
    time_signature: null,
    nullTokens: new Set(['', 'NA']),
  },
};

interface NumberRule {
  readonly column: string;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  /** How the accepted range is written in reasons. */
  readonly expected: string;
}

const unit = (column: string): NumberRule => ({ column, integer: false, min: 0, max: 1, expected: '0–1' });

/** Audio features and numeric columns shared by both layouts (popularity/time_signature are per layout). */
const FEATURE_RULES: readonly NumberRule[] = [
  { column: 'duration_ms', integer: true, min: 1, max: 2 ** 31 - 1, expected: 'a positive integer' },
  unit('danceability'),
  unit('energy'),
  { column: 'key', integer: true, min: -1, max: 11, expected: '-1..11' },
  // Real masters can be slightly louder than 0 dBFS (the TidyTuesday file peaks at +1.275 dB).
  { column: 'loudness', integer: false, min: -80, max: 10, expected: '-80–10 dB' },
  { column: 'mode', integer: true, min: 0, max: 1, expected: '0 or 1' },
  unit('speechiness'),
  unit('acousticness'),
  unit('instrumentalness'),
  unit('liveness'),
  unit('valence'),
  { column: 'tempo', integer: false, min: 0, max: 300, expected: '0–300 BPM' },
];

const POPULARITY_RULE: Omit<NumberRule, 'column'> = { integer: true, min: 0, max: 100, expected: '0–100' };
const TIME_SIGNATURE_RULE: Omit<NumberRule, 'column'> = { integer: true, min: 0, max: 7, expected: '0–7' };

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_TOKENS = new Set(['true', '1']);
const FALSE_TOKENS = new Set(['false', '0']);

interface Problem {
  category: RejectCategory;
  reason: string;
}

/**
 * Maps records of one file (known header) to staging rows; pure apart from the duplicate tracker
 * it keeps (row_key → first line), so it is created once per file.
 */
export interface RecordMapper {
  readonly schema: CsvSchemaName;
  /** `cells` is one CSV record, `line` the physical line it starts on (header = line 1). */
  map(cells: readonly string[], line: number): MappedRecord;
}

export function createRecordMapper(header: readonly string[], file: string): RecordMapper {
  const detected = detectSchema(header);
  if (!detected.ok) throw new DatasetError(detected.message);
  const schema = detected.schema.name;
  const layout = LAYOUTS[schema];
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    const name = (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim().toLowerCase();
    if (!index.has(name)) index.set(name, i);
  });
  const col = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new DatasetError(`column ${name} missing from the ${schema} header`);
    return i;
  };
  const optCol = (name: string | null): number | null => (name === null ? null : col(name));

  const ix = {
    track_id: col(layout.track_id),
    track_name: col(layout.track_name),
    artist_names: col(layout.artist_names),
    album_id: optCol(layout.album_id),
    album_name: col(layout.album_name),
    album_release_date: optCol(layout.album_release_date),
    playlist_id: optCol(layout.playlist_id),
    playlist_name: optCol(layout.playlist_name),
    genre: col(layout.genre),
    subgenre: optCol(layout.subgenre),
    explicit: optCol(layout.explicit),
  };
  const numberRules: { rule: NumberRule; at: number; target: keyof StagedTrack }[] = [
    { rule: { column: layout.popularity, ...POPULARITY_RULE }, at: col(layout.popularity), target: 'popularity' },
    ...FEATURE_RULES.map((rule) => ({ rule, at: col(rule.column), target: rule.column as keyof StagedTrack })),
  ];
  if (layout.time_signature !== null) {
    numberRules.push({
      rule: { column: layout.time_signature, ...TIME_SIGNATURE_RULE },
      at: col(layout.time_signature),
      target: 'time_signature',
    });
  }

  const seen = new Map<string, number>();
  const expectedCells = header.length;

  const text = (cells: readonly string[], at: number | null): string | null => {
    if (at === null) return null;
    const v = cells[at] ?? '';
    return layout.nullTokens.has(v) ? null : v;
  };
  const id = (cells: readonly string[], at: number | null): string | null => {
    const v = text(cells, at)?.trim() ?? null;
    return v === '' || v === null || layout.nullTokens.has(v) ? null : v;
  };
  const label = (cells: readonly string[], at: number | null): string | null => id(cells, at)?.toLowerCase() ?? null;

  return {
    schema,
    map(cells, line) {
      if (cells.length !== expectedCells) {
        return {
          ok: false,
          category: 'ragged_row',
          reason: `row has ${cells.length} cells, header has ${expectedCells}`,
        };
      }
      const problems: Problem[] = [];
      const trackId = id(cells, ix.track_id);
      if (trackId === null) problems.push({ category: 'missing_track_id', reason: 'missing track_id' });
      const genre = label(cells, ix.genre);
      if (genre === null) problems.push({ category: 'missing_genre', reason: `missing ${layout.genre}` });

      const numbers: Partial<Record<keyof StagedTrack, number>> = {};
      for (const { rule, at, target } of numberRules) {
        const parsed = parseNumber(rule, cells[at] ?? '');
        if ('problem' in parsed) problems.push(parsed.problem);
        else numbers[target] = parsed.value;
      }

      let explicit: boolean | null = null;
      if (ix.explicit !== null) {
        const raw = (cells[ix.explicit] ?? '').trim();
        const v = raw.toLowerCase();
        if (TRUE_TOKENS.has(v)) explicit = true;
        else if (FALSE_TOKENS.has(v)) explicit = false;
        else {
          problems.push({
            category: 'invalid_boolean',
            reason: raw === '' ? 'explicit is empty; expected True or False' : `explicit ${JSON.stringify(raw)} is not True/False`,
          });
        }
      }

      const first = problems[0];
      if (first) return { ok: false, category: first.category, reason: problems.map((p) => p.reason).join('; ') };

      const subgenre = label(cells, ix.subgenre);
      const playlistId = id(cells, ix.playlist_id);
      const rowKey = `${trackId}|${genre}|${subgenre ?? ''}|${playlistId ?? ''}`;
      const firstLine = seen.get(rowKey);
      if (firstLine !== undefined) {
        return {
          ok: false,
          category: 'duplicate',
          reason: `duplicate of line ${firstLine} (same track_id/genre/subgenre/playlist_id)`,
        };
      }
      seen.set(rowKey, line);

      const n = (k: keyof StagedTrack): number | null => numbers[k] ?? null;
      const row: StagedTrack = {
        row_key: rowKey,
        source_schema: schema,
        source_file: file,
        source_line: line,
        track_id: trackId!,
        track_name: text(cells, ix.track_name),
        artist_names: text(cells, ix.artist_names),
        album_id: id(cells, ix.album_id),
        album_name: text(cells, ix.album_name),
        album_release_date: id(cells, ix.album_release_date),
        playlist_id: playlistId,
        playlist_name: text(cells, ix.playlist_name),
        genre: genre!,
        subgenre,
        popularity: n('popularity'),
        duration_ms: n('duration_ms'),
        explicit,
        danceability: n('danceability'),
        energy: n('energy'),
        key: n('key'),
        loudness: n('loudness'),
        mode: n('mode'),
        speechiness: n('speechiness'),
        acousticness: n('acousticness'),
        instrumentalness: n('instrumentalness'),
        liveness: n('liveness'),
        valence: n('valence'),
        tempo: n('tempo'),
        time_signature: n('time_signature'),
        row_hash: '',
      };
      row.row_hash = rowHash(row);
      return { ok: true, row };
    },
  };
}

function parseNumber(rule: NumberRule, cell: string): { value: number } | { problem: Problem } {
  const raw = cell.trim();
  if (raw === '') {
    return { problem: { category: 'missing_value', reason: `${rule.column} is empty; expected a number` } };
  }
  if (!DECIMAL.test(raw)) {
    return { problem: { category: 'not_a_number', reason: `${rule.column} ${JSON.stringify(raw)} is not a number` } };
  }
  const value = Number(raw);
  if (rule.integer && !Number.isInteger(value)) {
    return {
      problem: { category: 'not_an_integer', reason: `${rule.column} ${raw} is not an integer (expected ${rule.expected})` },
    };
  }
  if (!Number.isFinite(value) || value < rule.min || value > rule.max) {
    const reason = rule.expected.startsWith('a ')
      ? `${rule.column} ${raw} is not ${rule.expected}`
      : rule.integer && rule.max - rule.min === 1
        ? `${rule.column} ${raw} is not ${rule.expected}`
        : `${rule.column} ${raw} is outside ${rule.expected}`;
    return { problem: { category: 'out_of_range', reason } };
  }
  return { value: Object.is(value, -0) ? 0 : value };
}

/** Hash of the mapped values (not provenance: source_file/source_line), so a moved row is not "changed". */
const HASHED: readonly (keyof StagedTrack)[] = [
  'row_key', 'source_schema', 'track_id', 'track_name', 'artist_names', 'album_id', 'album_name',
  'album_release_date', 'playlist_id', 'playlist_name', 'genre', 'subgenre', 'popularity', 'duration_ms',
  'explicit', 'danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness',
  'instrumentalness', 'liveness', 'valence', 'tempo', 'time_signature',
];

function rowHash(row: StagedTrack): string {
  return createHash('sha256')
    .update(JSON.stringify(HASHED.map((k) => row[k])))
    .digest('hex');
}

/** Physical line breaks in a raw record: CRLF, lone CR and lone LF each count once. */
function countLineBreaks(raw: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      n++;
      if (raw.charCodeAt(i + 1) === 10) i++;
    }
  }
  return n;
}

/** csv-parse output with `raw: true`: the cells and the record's source text. */
interface ParsedRecord {
  record: string[];
  raw: string;
}

export async function ingestCsv(opts: {
  path: string;
  store: StagingStore;
  log?: Logger;
  signal?: AbortSignal;
}): Promise<IngestReport> {
  const started = performance.now();
  const { path, store, signal } = opts;
  const file = basename(path);
  const log = (opts.log ?? silentLogger).child({ step: 'ingest', file });
  signal?.throwIfAborted();

  try {
    const st = await stat(path);
    if (!st.isFile()) throw new DatasetError(`${path} is not a file`);
  } catch (cause) {
    if (cause instanceof DatasetError) throw cause;
    throw new DatasetError(`cannot read dataset ${path}: ${(cause as Error).message}`, { cause });
  }

  const input = createReadStream(path);
  const parser = parse({
    bom: true,
    // The raw text gives each record's physical start line (see linesBefore); `info.lines` is the
    // record's last line and counts a CRLF inside a quoted cell twice, so it is not used.
    raw: true,
    relax_column_count: true,
    // Tolerate quote characters inside unquoted cells (track titles like 12" Mix); broken quoting is fatal.
    relax_quotes: true,
  });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);

  let mapper: RecordMapper | null = null;
  let load: StagingLoad | null = null;
  let tracks: StagedTrack[] = [];
  let rejects: StagedReject[] = [];
  let rowsRead = 0;
  let rowsStaged = 0;
  let rowsRejected = 0;
  const rejectReasons: Record<string, number> = {};
  /**
   * Line breaks consumed by the records before the current one. Counted from each record's raw text
   * rather than taken from info.lines, which is the record's last line and over-counts CRLF inside quotes.
   */
  let linesBefore = 0;

  const flush = async (): Promise<void> => {
    if (!load) return;
    if (tracks.length > 0) await load.appendTracks(tracks);
    if (rejects.length > 0) await load.appendRejects(rejects);
    tracks = [];
    rejects = [];
  };

  try {
    for await (const chunk of parser as AsyncIterable<ParsedRecord>) {
      signal?.throwIfAborted();
      const { record, raw } = chunk;
      const line = linesBefore + 1;
      linesBefore += countLineBreaks(raw);

      if (mapper === null) {
        mapper = createRecordMapper(record, file);
        await store.ensureSchema();
        load = await store.beginLoad({ schema: mapper.schema, file, loadedAt: new Date() });
        log.info({ schema: mapper.schema, columns: record.length }, 'ingest started');
        continue;
      }
      // A blank line is not a record (csv-parse yields it as one empty cell).
      if (record.length === 1 && record[0] === '' && raw.trim() === '') continue;

      rowsRead++;
      const mapped = mapper.map(record, line);
      if (mapped.ok) {
        rowsStaged++;
        tracks.push(mapped.row);
      } else {
        rowsRejected++;
        rejectReasons[mapped.category] = (rejectReasons[mapped.category] ?? 0) + 1;
        rejects.push({
          source_schema: mapper.schema,
          source_file: file,
          source_line: line,
          reason: mapped.reason,
          raw: JSON.stringify(record),
        });
      }
      if (tracks.length + rejects.length >= BATCH_SIZE) await flush();
      if (rowsRead % PROGRESS_EVERY === 0) log.info({ rowsRead, rowsStaged, rowsRejected }, 'ingest progress');
    }

    if (mapper === null || load === null) throw new DatasetError(`${path} is empty: no CSV header found`);
    await flush();
    signal?.throwIfAborted();
    const result = await load.commit();
    load = null;

    const report: IngestReport = {
      file,
      schema: mapper.schema,
      rowsRead,
      rowsStaged,
      rowsRejected,
      inserted: result.inserted,
      updated: result.updated,
      unchanged: result.unchanged,
      rejectReasons,
      ms: Math.round(performance.now() - started),
    };
    const { file: _file, ...summary } = report;
    log.info({ ...summary, staleRejectsRemoved: result.staleRejectsRemoved }, 'ingest finished');
    return report;
  } catch (err) {
    if (load) await load.abort().catch((e: unknown) => log.warn({ err: e }, 'discarding the staging load failed'));
    input.destroy();
    parser.destroy();
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('CSV_')) {
      throw new DatasetError(
        `${file} is not valid CSV (${err.message}); fix the quoting and re-run; nothing was staged`,
        { cause: err },
      );
    }
    throw err;
  }
}
