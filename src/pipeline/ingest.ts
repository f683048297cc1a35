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
import { DECIMAL, decimalValue } from './decimal.js';
import { CsvQuoteError, CsvTokenizer } from './csv-tokenizer.js';
import { inspectEncoding, Utf8TextCheck, windows1252ToUtf8, type EncodingCheck, type InputEncoding } from './input-encoding.js';
import { rowHash } from './row-hash.js';
import { overStagedFeatures, STAGED_FEATURE_NAMES, STAGED_FEATURES, type StagedFeature } from '../features.js';
import type { StagedReject, StagedTrack, StageResult, StagingLoad, StagingStore } from '../warehouse/staging.js';

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

type RejectCategory =
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

type MappedRecord =
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
const MAX_NAME_CHARS = 1_000;
/** Longest id or genre label cell staged (Spotify ids are 22 characters). */
const MAX_ID_CHARS = 200;
/** Release years outside 1850 … next year are not real releases. */
const MIN_RELEASE_YEAR = 1850;

/** Duration, then the feature block (src/features.ts), read from the same cells in both layouts (popularity/time_signature are per layout). */
const FEATURE_RULES: readonly (NumberRule & { readonly target: keyof StagedTrack })[] = [
  // Six hours: longer is a unit mix-up (seconds × 1000 twice) or a corrupt cell, not a track.
  { column: 'duration_ms', target: 'duration_ms', integer: true, min: 1, max: MAX_DURATION_MS, expected: `a positive integer up to ${MAX_DURATION_MS} (6 h)` },
  ...STAGED_FEATURES.map((f) => ({ column: f.staged!.header, target: f.name as StagedFeature, integer: f.integer, min: f.staged!.min, max: f.staged!.max, expected: f.staged!.expected })),
];

const POPULARITY_RULE: Omit<NumberRule, 'column'> = { integer: true, min: 0, max: 100, expected: '0–100' };
const TIME_SIGNATURE_RULE: Omit<NumberRule, 'column'> = { integer: true, min: 0, max: 7, expected: '0–7' };

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

/** One number column of a layout: its rule, the cell it is read from and the staging column it fills. */
interface NumberColumn {
  readonly rule: NumberRule;
  readonly at: number;
  readonly target: keyof StagedTrack;
}

/** The staging number columns every layout has (time_signature is the one a layout may lack). */
const NUMBER_TARGETS = ['popularity', 'duration_ms', ...STAGED_FEATURE_NAMES] as const satisfies readonly (keyof StagedTrack)[];
type NumberTarget = 'popularity' | 'duration_ms' | StagedFeature;
/** Sets the staged row's feature block (src/features.ts) from the parsed numbers, in column order. */
const fillFeatureBlock = overStagedFeatures<(row: StagedTrack, numbers: Float64Array, slots: Record<NumberTarget, number>) => void>(
  ['row', 'numbers', 'slots'],
  (f) => `row.${f.name} = numbers[slots.${f.name}];`,
);

/** Where each staging column is read in the records of one header, and the checks its cells get. */
interface ColumnPlan {
  readonly at: {
    readonly track_id: number;
    readonly track_name: number;
    readonly artist_names: number;
    readonly album_id: number | null;
    readonly album_name: number;
    readonly album_release_date: number | null;
    readonly playlist_id: number | null;
    readonly playlist_name: number | null;
    readonly genre: number;
    readonly subgenre: number | null;
    readonly explicit: number | null;
  };
  readonly numberColumns: readonly NumberColumn[];
  readonly lengthChecks: readonly { column: string; at: number; max: number }[];
}

/** Cell positions of a layout's columns in `header` (the first of repeated names), with the checks they get. */
function planColumns(header: readonly string[], schema: CsvSchemaName, layout: Layout): ColumnPlan {
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

  const at = {
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
  const numberColumns: NumberColumn[] = [
    { rule: { column: layout.popularity, ...POPULARITY_RULE }, at: col(layout.popularity), target: 'popularity' },
    ...FEATURE_RULES.map(({ target, ...rule }) => ({ rule, at: col(rule.column), target })),
  ];
  if (layout.time_signature !== null) {
    numberColumns.push({
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
  return { at, numberColumns, lengthChecks };
}

/**
 * `credits`: the artist column's splitter, made from every cell of the file by `scanCredits`. Without
 * it, credits are split on ';' (the default dataset's separator), as for a record mapped on its own.
 */
export function createRecordMapper(header: readonly string[], file: string, credits?: CreditSplitter): RecordMapper {
  const { schema, layout, extraColumns } = layoutOf(header);
  const splitter = credits ?? CreditSplitter.fixed(layout.artist_names, ';');
  return new LayoutRecordMapper(schema, extraColumns, splitter, file, layout, planColumns(header, schema, layout), header.length);
}

class LayoutRecordMapper implements RecordMapper {
  /** row_key → the line it was first staged from. */
  private readonly seen = new Map<string, number>();
  private readonly longestNullToken: number;
  /** Parsed numbers of the current record, by numberColumns index (map() is synchronous, so one buffer serves). */
  private readonly numbers: Float64Array;
  /** Where each number column's value lands in `numbers`. */
  private readonly slots: Record<NumberTarget, number>;
  /** time_signature's slot; null when the layout lacks the column. */
  private readonly timeSignatureSlot: number | null;
  private readonly maxReleaseYear = new Date().getUTCFullYear() + 1;

  constructor(
    readonly schema: CsvSchemaName,
    readonly extraColumns: readonly string[],
    readonly credits: CreditSplitter,
    private readonly file: string,
    private readonly layout: Layout,
    private readonly plan: ColumnPlan,
    private readonly expectedCells: number,
  ) {
    this.longestNullToken = Math.max(...[...layout.nullTokens].map((t) => t.length));
    this.numbers = new Float64Array(plan.numberColumns.length);
    const slot = (target: keyof StagedTrack): number => plan.numberColumns.findIndex((r) => r.target === target);
    this.slots = Object.fromEntries(NUMBER_TARGETS.map((target) => [target, slot(target)])) as Record<NumberTarget, number>;
    if (Object.values(this.slots).includes(-1)) throw new Error('a number column of StagedTrack has no rule');
    this.timeSignatureSlot = layout.time_signature === null ? null : slot('time_signature');
  }

  map(cells: readonly string[], line: number): MappedRecord {
    if (cells.length !== this.expectedCells) {
      return {
        ok: false,
        category: 'ragged_row',
        reason: `row has ${cells.length} cells, header has ${this.expectedCells}`,
      };
    }
    const { at } = this.plan;
    let problems = this.lengthProblems(cells);
    const trackId = this.id(cells, at.track_id);
    if (trackId === null) (problems ??= []).push({ category: 'missing_track_id', reason: 'missing track_id' });
    const genre = this.label(cells, at.genre);
    if (genre === null) (problems ??= []).push({ category: 'missing_genre', reason: `missing ${this.layout.genre}` });
    problems = this.parseNumbers(cells, problems);
    const released = this.id(cells, at.album_release_date);
    if (released !== null) {
      const problem = releaseDateProblem(released, this.layout.album_release_date!, this.maxReleaseYear);
      if (problem !== null) (problems ??= []).push(problem);
    }
    let explicit: boolean | null = null;
    if (at.explicit !== null) {
      const parsed = explicitValue(cells[at.explicit]!);
      if (typeof parsed === 'boolean') explicit = parsed;
      else (problems ??= []).push(parsed);
    }
    if (problems !== null) {
      return { ok: false, category: problems[0]!.category, reason: problems.map((p) => p.reason).join('; ') };
    }
    return this.stage(cells, line, trackId!, genre!, explicit);
  }

  private lengthProblems(cells: readonly string[]): Problem[] | null {
    let problems: Problem[] | null = null;
    for (const check of this.plan.lengthChecks) {
      const length = cells[check.at]!.length;
      if (length > check.max) {
        (problems ??= []).push({
          category: 'too_long',
          reason: `${check.column} is ${length} characters long; at most ${check.max} are staged`,
        });
      }
    }
    return problems;
  }

  /** Fills `numbers` from the record's number cells; each cell that fails its rule adds a problem. */
  private parseNumbers(cells: readonly string[], problems: Problem[] | null): Problem[] | null {
    const { numberColumns } = this.plan;
    const { numbers } = this;
    for (let r = 0; r < numberColumns.length; r++) {
      const { rule, at: cell } = numberColumns[r]!;
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
    return problems;
  }

  /** A valid record: rejected as a duplicate of an earlier line, else its staging row. */
  private stage(cells: readonly string[], line: number, trackId: string, genre: string, explicit: boolean | null): MappedRecord {
    const { at } = this.plan;
    const subgenre = this.label(cells, at.subgenre);
    const artistNames = this.text(cells, at.artist_names);
    const playlistId = this.id(cells, at.playlist_id);
    const rowKey = `${trackId}|${genre}|${subgenre ?? ''}|${playlistId ?? ''}`;
    const firstLine = this.seen.get(rowKey);
    if (firstLine !== undefined) {
      return {
        ok: false,
        category: 'duplicate',
        reason: `duplicate of line ${firstLine} (same track_id/genre/subgenre/playlist_id)`,
      };
    }
    this.seen.set(rowKey, line);
    const { numbers, slots, timeSignatureSlot } = this;
    // Filled in column order (the feature block, time_signature and row_hash follow), so every row has one shape.
    const row = {
      row_key: rowKey,
      source_schema: this.schema,
      source_file: this.file,
      source_line: line,
      track_id: trackId,
      track_name: this.text(cells, at.track_name),
      artist_names: artistNames,
      artist_credits: this.credits.split(artistNames),
      album_id: this.id(cells, at.album_id),
      album_name: this.text(cells, at.album_name),
      album_release_date: this.id(cells, at.album_release_date),
      playlist_id: playlistId,
      playlist_name: this.text(cells, at.playlist_name),
      genre,
      subgenre,
      popularity: numbers[slots.popularity]!,
      duration_ms: numbers[slots.duration_ms]!,
      explicit,
    } as StagedTrack;
    fillFeatureBlock(row, numbers, slots);
    row.time_signature = timeSignatureSlot === null ? null : numbers[timeSignatureSlot]!;
    row.row_hash = '';
    row.row_hash = rowHash(row);
    return { ok: true, row };
  }

  private isNull(value: string): boolean {
    return value.length === 0 || (value.length <= this.longestNullToken && this.layout.nullTokens.has(value));
  }

  /** A text cell as written; null when the layout lacks the column or the cell means "no value". */
  private text(cells: readonly string[], at: number | null): string | null {
    if (at === null) return null;
    const value = cells[at]!;
    return this.isNull(value) ? null : value;
  }

  /** An id cell, trimmed; null when absent. */
  private id(cells: readonly string[], at: number | null): string | null {
    if (at === null) return null;
    const value = cells[at]!;
    if (this.isNull(value)) return null;
    const trimmed = value.trim();
    return this.isNull(trimmed) ? null : trimmed;
  }

  /** A genre label: an id in lower case. */
  private label(cells: readonly string[], at: number | null): string | null {
    return this.id(cells, at)?.toLowerCase() ?? null;
  }
}

/** The explicit flag of a cell (True/False, 1/0 in any case), or why it is not one. */
function explicitValue(cell: string): boolean | Problem {
  const raw = cell.trim();
  const value = raw.toLowerCase();
  if (TRUE_TOKENS.has(value)) return true;
  if (FALSE_TOKENS.has(value)) return false;
  return {
    category: 'invalid_boolean',
    reason: raw === '' ? 'explicit is empty; expected True or False' : `explicit ${JSON.stringify(raw)} is not True/False`,
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

/**
 * The records of one pass: the header makes the mapper, every other record is mapped, counted and
 * held as a staged row or a reject until the next batch goes to the store.
 */
class PassRecords {
  mapper: RecordMapper | null = null;
  tracks: StagedTrack[] = [];
  rejects: StagedReject[] = [];
  rowsRead = 0;
  rowsStaged = 0;
  rowsRejected = 0;
  readonly rejectReasons: Record<string, number> = {};
  /** The first reject, shortened, quoted in the one-line failure when no row is valid. */
  firstReject: string | null = null;

  constructor(
    private readonly file: string,
    private readonly credits: CreditSplitter | null,
    private readonly log: Logger,
    private readonly bytesRead: () => number,
  ) {}

  /** The tokenizer's callback: records are mapped synchronously as it finds them. */
  readonly onRecord = (record: string[], line: number, blank: boolean): void => {
    if (this.mapper === null) {
      this.mapper = createRecordMapper(record, this.file, this.credits ?? undefined);
      this.log.info({ schema: this.mapper.schema, columns: record.length, extraColumns: this.mapper.extraColumns }, 'ingest started');
      return;
    }
    // A blank line is not a record.
    if (blank) return;
    this.rowsRead++;
    const mapped = this.mapper.map(record, line);
    if (mapped.ok) {
      this.rowsStaged++;
      this.tracks.push(mapped.row);
    } else {
      this.reject(record, line, mapped.category, mapped.reason);
    }
    if (this.rowsRead % PROGRESS_EVERY === 0) {
      const { rowsRead, rowsStaged, rowsRejected } = this;
      this.log.info({ rowsRead, rowsStaged, rowsRejected, bytesRead: this.bytesRead() }, 'ingest progress');
    }
  };

  private reject(record: string[], line: number, category: RejectCategory, reason: string): void {
    this.rowsRejected++;
    this.rejectReasons[category] = (this.rejectReasons[category] ?? 0) + 1;
    // A reason can quote a huge cell.
    this.firstReject ??= `line ${line}: ${reason.length > 200 ? `${reason.slice(0, 200)}…` : reason}`;
    this.rejects.push({
      source_schema: this.mapper!.schema,
      source_file: this.file,
      source_line: line,
      reason,
      raw: JSON.stringify(record),
    });
  }

  /** Rows and rejects held so far, handed over (the holder starts empty again). */
  take(): { tracks: StagedTrack[]; rejects: StagedReject[] } {
    const taken = { tracks: this.tracks, rejects: this.rejects };
    this.tracks = [];
    this.rejects = [];
    return taken;
  }

  /** The refusal of a file none of whose rows can be staged. */
  noValidRows(inputNotes: string | null): NoValidRowsError {
    const { file, rowsRead, rowsStaged, rowsRejected, rejectReasons } = this;
    const kept = 'nothing was staged and the published catalog is kept';
    return new NoValidRowsError(
      rowsRead === 0
        ? `${file} has a header but no data rows; ${kept}`
        : `${file} has no valid rows: all ${rowsRead} rejected (${describeReasons(rejectReasons)}; first ${this.firstReject}); ${kept}`,
      { rowsRead, rowsStaged, rowsRejected, rejectReasons, inputNotes },
    );
  }
}

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
  const records = new PassRecords(file, credits, log, () => input.bytesRead);
  let load: StagingLoad | null = null;

  /**
   * Open the load once the header is known (an unrecognised header creates nothing), then hand rows
   * over in batches. The first batch goes as soon as the load is open, without reading ahead: the
   * database is the long pole, so it should get rows as early as possible.
   */
  const flush = async (force: boolean): Promise<void> => {
    const { mapper } = records;
    if (mapper === null) return;
    load ??= await openLoad(store, { schema: mapper.schema, file, allowShrink: opts.allowShrink === true });
    if (!force && records.tracks.length + records.rejects.length < BATCH_SIZE) return;
    const { tracks, rejects } = records.take();
    if (tracks.length > 0) await load.appendTracks(tracks);
    if (rejects.length > 0) await load.appendRejects(rejects);
  };

  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      if (check && !check.push(chunk)) throw new NotUtf8Text();
      tokenizer.write(transcode ? transcode(chunk) : chunk, records.onRecord);
      await flush(false);
      signal?.throwIfAborted();
    }
    if (check && !check.end()) throw new NotUtf8Text();
    tokenizer.end(records.onRecord);

    const mapper = records.mapper as RecordMapper | null;
    if (mapper === null) throw new DatasetError(`${path} is empty: no CSV header found`);
    if (records.rowsStaged === 0) throw records.noValidRows(inputNotes);
    await flush(true);
    signal?.throwIfAborted();
    const result = await load!.commit();
    load = null;
    const report = finishedReport(records, mapper, result, { file, encoding, inputNotes, started });
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

function finishedReport(
  records: PassRecords,
  mapper: RecordMapper,
  result: StageResult,
  pass: { file: string; encoding: InputEncoding; inputNotes: string | null; started: number },
): IngestReport {
  return {
    file: pass.file,
    schema: mapper.schema,
    rowsRead: records.rowsRead,
    rowsStaged: records.rowsStaged,
    rowsRejected: records.rowsRejected,
    inserted: result.inserted,
    updated: result.updated,
    unchanged: result.unchanged,
    deleted: result.deleted,
    rejectReasons: records.rejectReasons,
    encoding: pass.encoding,
    inputNotes: pass.inputNotes,
    extraColumns: [...mapper.extraColumns],
    credits: [mapper.credits.report()],
    ms: Math.round(performance.now() - pass.started),
  };
}

async function openLoad(store: StagingStore, load: { schema: CsvSchemaName; file: string; allowShrink: boolean }): Promise<StagingLoad> {
  await store.ensureSchema();
  return store.beginLoad({ ...load, loadedAt: new Date() });
}
