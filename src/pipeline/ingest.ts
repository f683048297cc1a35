/**
 * CSV ingest: stream a dataset file, map either layout (maharshipandya, tidytuesday) onto the one
 * staging row shape, validate, and stage it through a `StagingStore` (valid rows → staging.tracks,
 * everything else → staging.track_rejects with its line number and an actionable reason).
 *
 * Invariants: rows read = rows staged + rows rejected; a reject never stops the load; the file is
 * applied to staging in one transaction at the end (a failed or aborted load changes nothing), after
 * which the rows staged from this file are exactly its valid rows (see the shrink guard in staging.ts);
 * memory stays bounded (records are mapped as they stream and appended in batches).
 *
 * This is the hot path of every load (both staging stores share it): records come from the byte-level
 * tokenizer in csv-tokenizer.ts (csv-parse's behaviour, several times faster), numbers are read without
 * a regular expression on the common path, and the row hash is a fast non-cryptographic one
 * (row-hash.ts).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatasetError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { CreditCellCounter, CreditSplitter, type CreditColumnReport } from './credits.js';
import { detectSchema, headerName, type CsvSchemaName } from './csv-schemas.js';
import { CsvQuoteError, CsvTokenizer } from './csv-tokenizer.js';
import { inspectEncoding, Utf8TextCheck, windows1252ToUtf8, type EncodingCheck, type InputEncoding } from './input-encoding.js';
import { rowHash } from './row-hash.js';
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
  /** Rows staged from this file by earlier loads that it no longer has (deleted from staging). */
  deleted: number;
  /** Rejected rows by category (a row with several problems counts under its first). */
  rejectReasons: Record<string, number>;
  /** How the file's bytes were decoded (see input-encoding.ts). */
  encoding: InputEncoding;
  /** Set when the file was read other than as it is (e.g. transcoded from Windows-1252); kept in the run record. */
  inputNotes: string | null;
  /** Header columns the layout does not use (not staged), as written; kept in the run record. */
  extraColumns: string[];
  /** Per credit column: the separator recognised and what splitting did (see credits.ts); kept in the run record. */
  credits: CreditColumnReport[];
  ms: number;
}

/**
 * The file has no row to stage (only a header, or every row rejected). Nothing was staged: publishing
 * would replace the catalog with an empty one. Carries the counts for the run record.
 */
export class NoValidRowsError extends DatasetError {
  constructor(
    message: string,
    readonly counts: Pick<IngestReport, 'rowsRead' | 'rowsStaged' | 'rowsRejected' | 'rejectReasons' | 'inputNotes'>,
  ) {
    super(message);
  }
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
  | 'invalid_date'
  | 'too_long'
  | 'duplicate';

export type MappedRecord =
  | { ok: true; row: StagedTrack }
  | { ok: false; category: RejectCategory; reason: string };

/**
 * Rows handed to the store at a time: about one read chunk, so the database starts on the rows early and
 * works while the rest of the file is read, and few mapped rows are alive at once.
 */
const BATCH_SIZE = 1_000;
/** File read size: large enough that per-chunk overhead vanishes, small enough to start the COPY early. */
const READ_CHUNK_BYTES = 256 * 1024;
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

const MAX_DURATION_MS = 6 * 60 * 60 * 1000;
/** Longest name cell staged (track, artist list, album, playlist); the real files peak at 513. */
export const MAX_NAME_CHARS = 1_000;
/** Longest id or genre label cell staged (Spotify ids are 22 characters). */
export const MAX_ID_CHARS = 200;
/** Release years outside 1850 … next year are not real releases. */
const MIN_RELEASE_YEAR = 1850;

const unit = (column: string): NumberRule => ({ column, integer: false, min: 0, max: 1, expected: '0–1' });

/** Audio features and numeric columns shared by both layouts (popularity/time_signature are per layout). */
const FEATURE_RULES: readonly NumberRule[] = [
  // Six hours: longer is a unit mix-up (seconds × 1000 twice) or a corrupt cell, not a track.
  { column: 'duration_ms', integer: true, min: 1, max: MAX_DURATION_MS, expected: `a positive integer up to ${MAX_DURATION_MS} (6 h)` },
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
  /** Header columns the layout does not use, as written. */
  readonly extraColumns: readonly string[];
  /** The splitter of the artist column (its report says what it did so far). */
  readonly credits: CreditSplitter;
  /** `cells` is one CSV record, `line` the physical line it starts on (header = line 1). */
  map(cells: readonly string[], line: number): MappedRecord;
}

/** The staging layout of a header's CSV layout (throws DatasetError naming the missing columns). */
function layoutOf(header: readonly string[]): { schema: CsvSchemaName; layout: Layout; extraColumns: string[] } {
  const detected = detectSchema(header);
  if (!detected.ok) throw new DatasetError(detected.message);
  return { schema: detected.schema.name, layout: LAYOUTS[detected.schema.name], extraColumns: detected.extraColumns };
}

/**
 * `credits`: the artist column's splitter, made from every cell of the file by `scanCredits`. Without
 * it, credits are split on ';' (the default dataset's separator), as for a record mapped on its own.
 */
export function createRecordMapper(header: readonly string[], file: string, credits?: CreditSplitter): RecordMapper {
  const { schema, layout, extraColumns } = layoutOf(header);
  const splitter = credits ?? CreditSplitter.fixed(layout.artist_names, ';');
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    const name = headerName(h, i);
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

  const lengthChecks: { column: string; at: number; max: number }[] = [];
  const limit = (column: string | null, max: number) => {
    if (column !== null) lengthChecks.push({ column, at: col(column), max });
  };
  for (const c of [layout.track_name, layout.artist_names, layout.album_name, layout.playlist_name]) limit(c, MAX_NAME_CHARS);
  for (const c of [layout.track_id, layout.album_id, layout.playlist_id, layout.genre, layout.subgenre]) limit(c, MAX_ID_CHARS);
  const maxReleaseYear = new Date().getUTCFullYear() + 1;

  const seen = new Map<string, number>();
  const expectedCells = header.length;
  const nullTokens = layout.nullTokens;
  const longestNullToken = Math.max(...[...nullTokens].map((t) => t.length));
  const isNull = (v: string): boolean => v.length === 0 || (v.length <= longestNullToken && nullTokens.has(v));
  const ruleCount = numberRules.length;
  /** Parsed numbers of the current record, by numberRules index (map() is synchronous, so one buffer serves). */
  const numbers = new Float64Array(ruleCount);
  /** Where each number column's value lands in `numbers` (time_signature: null when the layout lacks it). */
  const slot = (target: keyof StagedTrack): number => numberRules.findIndex((r) => r.target === target);
  const N = {
    popularity: slot('popularity'),
    duration_ms: slot('duration_ms'),
    danceability: slot('danceability'),
    energy: slot('energy'),
    key: slot('key'),
    loudness: slot('loudness'),
    mode: slot('mode'),
    speechiness: slot('speechiness'),
    acousticness: slot('acousticness'),
    instrumentalness: slot('instrumentalness'),
    liveness: slot('liveness'),
    valence: slot('valence'),
    tempo: slot('tempo'),
  };
  if (Object.values(N).includes(-1)) throw new Error('a number column of StagedTrack has no rule');
  const ts = layout.time_signature === null ? null : slot('time_signature');

  const text = (cells: readonly string[], i: number | null): string | null => {
    if (i === null) return null;
    const v = cells[i]!;
    return isNull(v) ? null : v;
  };
  const id = (cells: readonly string[], i: number | null): string | null => {
    if (i === null) return null;
    const v = cells[i]!;
    if (isNull(v)) return null;
    const t = v.trim();
    return isNull(t) ? null : t;
  };
  const label = (cells: readonly string[], i: number | null): string | null => id(cells, i)?.toLowerCase() ?? null;

  return {
    schema,
    extraColumns,
    credits: splitter,
    map(cells, line) {
      if (cells.length !== expectedCells) {
        return {
          ok: false,
          category: 'ragged_row',
          reason: `row has ${cells.length} cells, header has ${expectedCells}`,
        };
      }
      let problems: Problem[] | null = null;
      for (const check of lengthChecks) {
        const n = cells[check.at]!.length;
        if (n > check.max) {
          (problems ??= []).push({
            category: 'too_long',
            reason: `${check.column} is ${n} characters long; at most ${check.max} are staged`,
          });
        }
      }
      const trackId = id(cells, ix.track_id);
      if (trackId === null) (problems ??= []).push({ category: 'missing_track_id', reason: 'missing track_id' });
      const genre = label(cells, ix.genre);
      if (genre === null) (problems ??= []).push({ category: 'missing_genre', reason: `missing ${layout.genre}` });

      for (let r = 0; r < ruleCount; r++) {
        const { rule, at: cell } = numberRules[r]!;
        const raw = cells[cell]!.trim();
        const value = raw.length === 0 ? NaN : decimalValue(raw);
        if (value >= rule.min && value <= rule.max && (!rule.integer || Number.isInteger(value))) {
          numbers[r] = value === 0 ? 0 : value; // -0 → 0
          continue;
        }
        // The exact reason (and the rare value the fast check above turned down) comes from parseNumber.
        const parsed = parseNumber(rule, cells[cell]!);
        if ('problem' in parsed) (problems ??= []).push(parsed.problem);
        else numbers[r] = parsed.value;
      }

      const released = id(cells, ix.album_release_date);
      if (released !== null) {
        const problem = releaseDateProblem(released, layout.album_release_date!, maxReleaseYear);
        if (problem !== null) (problems ??= []).push(problem);
      }

      let explicit: boolean | null = null;
      if (ix.explicit !== null) {
        const raw = cells[ix.explicit]!.trim();
        const v = raw.toLowerCase();
        if (TRUE_TOKENS.has(v)) explicit = true;
        else if (FALSE_TOKENS.has(v)) explicit = false;
        else {
          (problems ??= []).push({
            category: 'invalid_boolean',
            reason: raw === '' ? 'explicit is empty; expected True or False' : `explicit ${JSON.stringify(raw)} is not True/False`,
          });
        }
      }

      if (problems !== null) {
        return { ok: false, category: problems[0]!.category, reason: problems.map((p) => p.reason).join('; ') };
      }

      const subgenre = label(cells, ix.subgenre);
      const artistNames = text(cells, ix.artist_names);
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

      const row: StagedTrack = {
        row_key: rowKey,
        source_schema: schema,
        source_file: file,
        source_line: line,
        track_id: trackId!,
        track_name: text(cells, ix.track_name),
        artist_names: artistNames,
        artist_credits: splitter.split(artistNames),
        album_id: id(cells, ix.album_id),
        album_name: text(cells, ix.album_name),
        album_release_date: id(cells, ix.album_release_date),
        playlist_id: playlistId,
        playlist_name: text(cells, ix.playlist_name),
        genre: genre!,
        subgenre,
        popularity: numbers[N.popularity]!,
        duration_ms: numbers[N.duration_ms]!,
        explicit,
        danceability: numbers[N.danceability]!,
        energy: numbers[N.energy]!,
        key: numbers[N.key]!,
        loudness: numbers[N.loudness]!,
        mode: numbers[N.mode]!,
        speechiness: numbers[N.speechiness]!,
        acousticness: numbers[N.acousticness]!,
        instrumentalness: numbers[N.instrumentalness]!,
        liveness: numbers[N.liveness]!,
        valence: numbers[N.valence]!,
        tempo: numbers[N.tempo]!,
        time_signature: ts === null ? null : numbers[ts]!,
        row_hash: '',
      };
      row.row_hash = rowHash(row);
      return { ok: true, row };
    },
  };
}

const RELEASE_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/** A release date as the TidyTuesday file writes it (YYYY, YYYY-MM or YYYY-MM-DD) that exists; else why not. */
function releaseDateProblem(value: string, column: string, maxYear: number): Problem | null {
  const m = RELEASE_DATE.exec(value);
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (!m) {
    return { category: 'invalid_date', reason: `${column} ${shown} is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)` };
  }
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  if (year < MIN_RELEASE_YEAR || year > maxYear) {
    return { category: 'invalid_date', reason: `${column} ${shown} has a year outside ${MIN_RELEASE_YEAR}–${maxYear}` };
  }
  // Date.UTC rolls an impossible day or month over into the next; a real date survives the round trip.
  const d = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    return { category: 'invalid_date', reason: `${column} ${shown} does not exist` };
  }
  return null;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The value of a trimmed cell if it matches DECIMAL, else NaN; always the same value as `Number(raw)`.
 * Short decimals (≤ 15 digits, power of ten ≤ 22) take the exact fast path: an integer below 2^53 and
 * an exact power of ten give a correctly rounded result in one IEEE operation, as Number() does.
 */
function decimalValue(raw: string): number {
  const len = raw.length;
  let i = 0;
  let c = raw.charCodeAt(0);
  const negative = c === 45;
  if (negative || c === 43) i = 1;
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  for (; i < len; i++) {
    c = raw.charCodeAt(i);
    if (c < 48 || c > 57) break;
    mantissa = mantissa * 10 + (c - 48);
    digits++;
  }
  if (i < len && raw.charCodeAt(i) === 46) {
    for (i++; i < len; i++) {
      c = raw.charCodeAt(i);
      if (c < 48 || c > 57) break;
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      fraction++;
    }
  }
  if (digits === 0) return NaN;
  let exponent = 0;
  if (i < len) {
    c = raw.charCodeAt(i);
    if (c !== 101 && c !== 69) return NaN;
    i++;
    let negativeExponent = false;
    if (i < len) {
      c = raw.charCodeAt(i);
      if (c === 43 || c === 45) {
        negativeExponent = c === 45;
        i++;
      }
    }
    const first = i;
    for (; i < len; i++) {
      c = raw.charCodeAt(i);
      if (c < 48 || c > 57) return NaN;
      if (exponent < 1e6) exponent = exponent * 10 + (c - 48);
    }
    if (i === first) return NaN;
    if (negativeExponent) exponent = -exponent;
  }
  const scale = exponent - fraction;
  if (digits > 15 || scale > 22 || scale < -22) return Number(raw);
  const value = scale === 0 ? mantissa : scale > 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
  return negative ? -value : value;
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

/** `duplicate 3, out_of_range 1`: categories by count, largest first. */
function describeReasons(reasons: Record<string, number>): string {
  return Object.entries(reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** For tests: the fast number reader, which must agree with DECIMAL + Number(). */
export const decimalValueForTest = decimalValue;

export async function ingestCsv(opts: {
  path: string;
  store: StagingStore;
  log?: Logger;
  signal?: AbortSignal;
  /** Accept deleting more than half of the rows staged from this file (see checkShrink in staging.ts). */
  allowShrink?: boolean;
}): Promise<IngestReport> {
  const started = performance.now();
  const { path, signal } = opts;
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
  // The bytes are checked as they stream (UTF-8 text, no NULs; binary signatures refused up front).
  // Only a file that fails the check is classified (refused with its line, or read again transcoded).
  try {
    return await ingestPass({ ...opts, file, log, started }, null);
  } catch (err) {
    if (!(err instanceof NotUtf8Text)) throw err;
  }
  const decoding = await inspectEncoding(path, file);
  if (decoding.note) log.warn({ encoding: decoding.encoding }, decoding.note);
  return ingestPass({ ...opts, file, log, started }, decoding);
}

/**
 * The first read of a file: every cell of its artist column counted, then the column's splitter made
 * from them (separator and names kept whole need the whole file; see credits.ts). Null when the file
 * has no recognised header or is not valid CSV: the main read reports that.
 */
async function scanCredits(
  path: string,
  transcode: ((chunk: Buffer) => Buffer) | null,
  signal: AbortSignal | undefined,
): Promise<CreditSplitter | null> {
  const tokenizer = new CsvTokenizer();
  const counter = new CreditCellCounter();
  let column: { at: number; trackAt: number; name: string; nullTokens: ReadonlySet<string> } | null = null;
  let unrecognised = false;
  const onRecord = (record: string[], _line: number, blank: boolean): void => {
    if (unrecognised) return;
    if (column === null) {
      const detected = detectSchema(record);
      if (!detected.ok) {
        unrecognised = true;
        return;
      }
      const layout = LAYOUTS[detected.schema.name];
      const names = record.map(headerName);
      column = { at: names.indexOf(layout.artist_names), trackAt: names.indexOf(layout.track_id), name: layout.artist_names, nullTokens: layout.nullTokens };
      return;
    }
    const cell = blank ? undefined : record[column.at];
    if (cell !== undefined && !column.nullTokens.has(cell)) counter.add(cell, record[column.trackAt] ?? '');
  };
  const input = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      tokenizer.write(transcode ? transcode(chunk) : chunk, onRecord);
      if (unrecognised) return null;
    }
    tokenizer.end(onRecord);
  } catch (err) {
    if (err instanceof CsvQuoteError) return null;
    throw err;
  } finally {
    input.destroy();
  }
  const found = column as { name: string } | null;
  return found === null || unrecognised ? null : CreditSplitter.fromCells(found.name, counter.cells);
}

/** The ingest found bytes that are not UTF-8 text; nothing was staged. */
class NotUtf8Text extends Error {}

/** One read of the file into one staging load. `decoding` null: expect UTF-8 and throw NotUtf8Text when it is not. */
async function ingestPass(
  opts: { path: string; store: StagingStore; signal?: AbortSignal; allowShrink?: boolean; file: string; log: Logger; started: number },
  decoding: EncodingCheck | null,
): Promise<IngestReport> {
  const { path, store, signal, file, log, started } = opts;
  const encoding: InputEncoding = decoding?.encoding ?? 'utf-8';
  const inputNotes = decoding?.note ?? null;
  const transcode = encoding === 'windows-1252' ? windows1252ToUtf8() : null;
  const check = decoding === null ? new Utf8TextCheck(file) : null;

  const credits = await scanCredits(path, transcode === null ? null : windows1252ToUtf8(), signal);
  const input = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  const tokenizer = new CsvTokenizer();

  let mapper: RecordMapper | null = null;
  let load: StagingLoad | null = null;
  let tracks: StagedTrack[] = [];
  let rejects: StagedReject[] = [];
  let rowsRead = 0;
  let rowsStaged = 0;
  let rowsRejected = 0;
  const rejectReasons: Record<string, number> = {};
  let firstReject: string | null = null;

  // Records are mapped synchronously as the tokenizer finds them; the store is written between chunks.
  const onRecord = (record: string[], line: number, blank: boolean): void => {
    if (mapper === null) {
      mapper = createRecordMapper(record, file, credits ?? undefined);
      log.info({ schema: mapper.schema, columns: record.length, extraColumns: mapper.extraColumns }, 'ingest started');
      return;
    }
    // A blank line is not a record.
    if (blank) return;
    rowsRead++;
    const mapped = mapper.map(record, line);
    if (mapped.ok) {
      rowsStaged++;
      tracks.push(mapped.row);
    } else {
      rowsRejected++;
      rejectReasons[mapped.category] = (rejectReasons[mapped.category] ?? 0) + 1;
      // Quoted in the one-line failure when no row is valid; a reason can quote a huge cell.
      firstReject ??= `line ${line}: ${mapped.reason.length > 200 ? `${mapped.reason.slice(0, 200)}…` : mapped.reason}`;
      rejects.push({
        source_schema: mapper.schema,
        source_file: file,
        source_line: line,
        reason: mapped.reason,
        raw: JSON.stringify(record),
      });
    }
    if (rowsRead % PROGRESS_EVERY === 0) log.info({ rowsRead, rowsStaged, rowsRejected, bytesRead: input.bytesRead }, 'ingest progress');
  };

  /**
   * Open the load once the header is known (an unrecognised header creates nothing), then hand rows
   * over in batches. The first batch goes as soon as the load is open, without reading ahead: the
   * database is the long pole, so it should get rows as early as possible.
   */
  const flush = async (force: boolean): Promise<void> => {
    if (mapper === null) return;
    if (load === null) {
      await store.ensureSchema();
      load = await store.beginLoad({ schema: mapper.schema, file, loadedAt: new Date(), allowShrink: opts.allowShrink === true });
    }
    if (!force && tracks.length + rejects.length < BATCH_SIZE) return;
    const batch = tracks;
    const rejected = rejects;
    tracks = [];
    rejects = [];
    if (batch.length > 0) await load.appendTracks(batch);
    if (rejected.length > 0) await load.appendRejects(rejected);
  };

  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      if (check && !check.push(chunk)) throw new NotUtf8Text();
      tokenizer.write(transcode ? transcode(chunk) : chunk, onRecord);
      await flush(false);
      signal?.throwIfAborted();
    }
    if (check && !check.end()) throw new NotUtf8Text();
    tokenizer.end(onRecord);

    if (mapper === null) throw new DatasetError(`${path} is empty: no CSV header found`);
    if (rowsStaged === 0) {
      const kept = 'nothing was staged and the published catalog is kept';
      throw new NoValidRowsError(
        rowsRead === 0
          ? `${file} has a header but no data rows; ${kept}`
          : `${file} has no valid rows: all ${rowsRead} rejected (${describeReasons(rejectReasons)}; first ${firstReject}); ${kept}`,
        { rowsRead, rowsStaged, rowsRejected, rejectReasons, inputNotes },
      );
    }
    await flush(true);
    signal?.throwIfAborted();
    const result = await load!.commit();
    load = null;
    const done = mapper as RecordMapper;
    const schemaName: CsvSchemaName = done.schema;

    const report: IngestReport = {
      file,
      schema: schemaName,
      rowsRead,
      rowsStaged,
      rowsRejected,
      inserted: result.inserted,
      updated: result.updated,
      unchanged: result.unchanged,
      deleted: result.deleted,
      rejectReasons,
      encoding,
      inputNotes,
      extraColumns: [...done.extraColumns],
      credits: [done.credits.report()],
      ms: Math.round(performance.now() - started),
    };
    const { file: _file, ...summary } = report;
    log.info({ ...summary, staleRejectsRemoved: result.staleRejectsRemoved }, 'ingest finished');
    return report;
  } catch (err) {
    const open = load as StagingLoad | null;
    if (open) await open.abort().catch((e: unknown) => log.warn({ err: e }, 'discarding the staging load failed'));
    input.destroy();
    if (err instanceof CsvQuoteError) {
      throw new DatasetError(
        `${file} is not valid CSV (${err.message}); fix the quoting and re-run; nothing was staged`,
        { cause: err },
      );
    }
    throw err;
  }
}
