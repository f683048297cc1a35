/**
 * PostgreSQL's COPY formats as the staging store speaks them: the binary format it writes rows in
 * (`COPY … FROM STDIN (FORMAT binary)`) and the text format it reads them back in (`COPY … TO STDOUT`).
 * Pure functions over buffers and strings; the connection, transactions and streams are in
 * postgres-staging.ts.
 */
import { WarehouseError } from '../errors.js';
import { overStagedFeatures, STAGED_FEATURE_NAMES } from '../features.js';
import type { RawTableSpec, RawValue } from './raw-load.js';
import { TRACK_COLUMNS, type StagedTrack } from './staging.js';

/** Staging column types in PostgreSQL's names. */
export const PG_TYPES = {
  VARCHAR: 'text',
  INTEGER: 'integer',
  DOUBLE: 'double precision',
  BOOLEAN: 'boolean',
  TIMESTAMP: 'timestamp',
} as const;

export type CopyColumnType = keyof typeof PG_TYPES;

// ---------------------------------------------------------------------------------------------
// COPY binary format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.10): length-
// prefixed cells, numbers as fixed-size big-endian values. Compared with the text format nothing is
// escaped or printed on this side and nothing is parsed on the server's.

const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (no OIDs), header extension length 0. Starts every binary COPY stream. */
export const COPY_BINARY_HEADER = Buffer.concat([BINARY_SIGNATURE, Buffer.alloc(8)]);
/** Field count -1: the end of a binary COPY stream. */
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_MICROS = BigInt(Date.UTC(2000, 0, 1)) * 1000n;

/** COPY binary tuples into one growing buffer. Strings are written to UTF-8 in place. */
class CopyBinaryWriter {
  private buf: Buffer;
  private at = 0;

  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(4_096, bytes));
  }

  private ensure(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  private int32(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    this.at = at + 4;
  }

  tuple(fields: number): void {
    this.ensure(2);
    this.buf[this.at] = fields >>> 8;
    this.buf[this.at + 1] = fields;
    this.at += 2;
  }

  nul(): void {
    this.ensure(4);
    this.int32(-1);
  }

  text(column: string, value: unknown): void {
    if (value === null || value === undefined) return this.nul();
    if (typeof value !== 'string') throw new WarehouseError(`column ${column} holds a ${typeof value}, expected text`);
    const n = value.length;
    // 3 bytes per UTF-16 unit is the UTF-8 worst case.
    this.ensure(4 + n * 3);
    const b = this.buf;
    const start = this.at + 4;
    let end = start;
    let i = 0;
    // ASCII (nearly every cell) is copied here; Buffer#write costs more than the copy for short strings.
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80 || c === 0) break;
      b[end++] = c;
    }
    if (i < n) {
      if (value.includes('\0', i)) {
        throw new WarehouseError('a value contains a NUL character, which PostgreSQL text cannot store');
      }
      end += b.write(i === 0 ? value : value.slice(i), end, 'utf8');
    }
    this.int32(end - start);
    this.at = end;
  }

  int(column: string, value: unknown): void {
    if (value === null || value === undefined) return this.nul();
    if (!Number.isInteger(value) || (value as number) < -(2 ** 31) || (value as number) >= 2 ** 31) {
      throw new WarehouseError(`column ${column} holds ${String(value)}, not a 32-bit integer`);
    }
    this.ensure(8);
    this.int32(4);
    this.int32(value as number);
  }

  double(column: string, value: unknown): void {
    if (value === null || value === undefined) return this.nul();
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new WarehouseError(`cannot stage the non-finite number ${String(value)} in ${column}`);
    }
    this.ensure(12);
    this.int32(8);
    this.buf.writeDoubleBE(value, this.at);
    this.at += 8;
  }

  bool(value: unknown): void {
    if (value === null || value === undefined) return this.nul();
    this.ensure(5);
    this.int32(1);
    this.buf[this.at++] = value ? 1 : 0;
  }

  timestamp(value: Date): void {
    this.ensure(12);
    this.int32(8);
    this.buf.writeBigInt64BE(BigInt(value.getTime()) * 1000n - PG_EPOCH_MICROS, this.at);
    this.at += 8;
  }

  value(column: string, type: CopyColumnType, value: unknown): void {
    switch (type) {
      case 'VARCHAR':
        return this.text(column, value);
      case 'INTEGER':
        return this.int(column, value);
      case 'DOUBLE':
        return this.double(column, value);
      case 'BOOLEAN':
        return this.bool(value);
      case 'TIMESTAMP':
        return value === null || value === undefined ? this.nul() : this.timestamp(value as Date);
    }
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/**
 * Rows → COPY binary tuples (no header or trailer), columns in `cols` order, optionally followed by one
 * constant TIMESTAMP cell per row (`loaded_at` when copying straight into the staging table).
 */
export function encodeCopyBinary<R>(
  rows: readonly R[],
  cols: readonly { name: keyof R & string; type: CopyColumnType }[],
  trailingTimestamp?: Date,
): Buffer {
  const writer = new CopyBinaryWriter(rows.length * cols.length * 16);
  const fields = cols.length + (trailingTimestamp ? 1 : 0);
  for (const row of rows) {
    writer.tuple(fields);
    for (const col of cols) writer.value(col.name, col.type, row[col.name]);
    if (trailingTimestamp) writer.timestamp(trailingTimestamp);
  }
  return writer.finish();
}

/** The column order encodeTrackRows writes; must be TRACK_COLUMNS' (checked below at load). */
const TRACK_ROW_ORDER = [
  'row_key', 'source_schema', 'source_file', 'source_line', 'track_id', 'track_name', 'artist_names', 'artist_credits', 'album_id',
  'album_name', 'album_release_date', 'playlist_id', 'playlist_name', 'genre', 'subgenre', 'popularity',
  'duration_ms', 'explicit', ...STAGED_FEATURE_NAMES, 'time_signature', 'row_hash',
];
if (TRACK_ROW_ORDER.join() !== TRACK_COLUMNS.map((c) => c.name).join()) {
  throw new Error('encodeTrackRows is out of step with TRACK_COLUMNS in src/warehouse/staging.ts');
}
/** Writes the feature block of a row (src/features.ts): each column as an int4 or a float8, in column order. */
const writeFeatureBlock = overStagedFeatures<(writer: CopyBinaryWriter, row: StagedTrack) => void>(
  ['writer', 'row'],
  (f) => `writer.${f.integer ? 'int' : 'double'}('${f.name}', row.${f.name});`,
);

/**
 * `encodeCopyBinary(rows, TRACK_COLUMNS, trailingTimestamp)` written out field by field: the same bytes
 * (tests/pg-copy.test.ts compares them), several times faster, since every property access is a
 * fixed one and no column type is looked up. This runs once per staged row.
 */
export function encodeTrackRows(rows: readonly StagedTrack[], trailingTimestamp?: Date): Buffer {
  const writer = new CopyBinaryWriter(rows.length * 640);
  const fields = TRACK_COLUMNS.length + (trailingTimestamp ? 1 : 0);
  for (const row of rows) {
    writer.tuple(fields);
    writer.text('row_key', row.row_key);
    writer.text('source_schema', row.source_schema);
    writer.text('source_file', row.source_file);
    writer.int('source_line', row.source_line);
    writer.text('track_id', row.track_id);
    writer.text('track_name', row.track_name);
    writer.text('artist_names', row.artist_names);
    writer.text('artist_credits', row.artist_credits);
    writer.text('album_id', row.album_id);
    writer.text('album_name', row.album_name);
    writer.text('album_release_date', row.album_release_date);
    writer.text('playlist_id', row.playlist_id);
    writer.text('playlist_name', row.playlist_name);
    writer.text('genre', row.genre);
    writer.text('subgenre', row.subgenre);
    writer.int('popularity', row.popularity);
    writer.int('duration_ms', row.duration_ms);
    writer.bool(row.explicit);
    writeFeatureBlock(writer, row);
    writer.int('time_signature', row.time_signature);
    writer.text('row_hash', row.row_hash);
    if (trailingTimestamp) writer.timestamp(trailingTimestamp);
  }
  return writer.finish();
}

// ---------------------------------------------------------------------------------------------
// COPY text format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2), as read
// back by readRows.

const UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** A COPY text-format cell → its string (NULL for `\N`). Handles octal and hex escapes too. */
export function decodeCopyTextCell(cell: string): string | null {
  if (cell === '\\N') return null;
  if (!cell.includes('\\')) return cell;
  return cell.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x' && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return UNESCAPES[e] ?? e;
  });
}

/** A COPY text-format cell → the value of a staging column of `type`. */
export function fromCopyText(cell: string, type: RawTableSpec['columns'][number]['type']): RawValue {
  const s = decodeCopyTextCell(cell);
  if (s === null) return null;
  switch (type) {
    case 'VARCHAR':
      return s;
    case 'INTEGER':
    case 'DOUBLE':
      return Number(s);
    case 'BOOLEAN':
      return s === 't';
    case 'TIMESTAMP':
      // Selected as epoch milliseconds (see readRows).
      return new Date(Number(s));
  }
}
