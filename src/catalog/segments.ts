/**
 * The binary half of a snapshot: named columns laid end to end in one file, each 8-byte aligned, so a
 * reader maps every numeric column as a typed-array view of the bytes it read (no copy, no parse).
 *
 * - numeric columns: the typed array's bytes (little-endian, as every platform Node runs on);
 * - string columns: the strings' UTF-8 bytes back to back, plus `Uint32` offsets in UTF-16 code
 *   units of the decoded text (n + 1 of them), so one decode of the whole blob and one `slice` per
 *   row give the strings back; a `Uint8` null mask (1 = null) when any value is null.
 *
 * The manifest (snapshot.ts) lists each segment's name, type, byte offset and element count.
 */

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { Grow } from './grow.js';
import { NumberColumn } from './number-column.js';
import type { Steps } from './slices.js';

export type SegmentType = 'f64' | 'f32' | 'i32' | 'u32' | 'i8' | 'u8' | 'utf8';

export interface SegmentEntry {
  name: string;
  type: SegmentType;
  /** Byte offset in the segment file (a multiple of 8). */
  offset: number;
  /** Elements (bytes for utf8). */
  length: number;
  /** An `i32` segment of decimal digits (number-column.ts): the decimal places of its values. */
  decimals?: number;
}

/**
 * Strings by row, read with `at(i)`: a plain array, or a `StringColumn` kept as one decoded text whose
 * rows are sliced when asked for.
 */
export interface Strings<T extends string | null = string> {
  readonly length: number;
  at(i: number): T | undefined;
}

/**
 * A string column read in place: its UTF-8 bytes (a view of the segment file's bytes) and each row's
 * byte offset; row i is decoded when asked for. A million rows are then neither a million string objects
 * (≈ 40 bytes each, all traced by every full garbage collection) nor a decoded copy of the column's text.
 */
export class StringColumn<T extends string | null = string | null> implements Strings<T> {
  readonly length: number;

  /** `starts`: the n + 1 byte offsets of the rows in `bytes`; `nulls`: 1 where a row is null. */
  constructor(private readonly bytes: Buffer, private readonly starts: Uint32Array, private readonly nulls: Uint8Array | null) {
    this.length = starts.length - 1;
  }

  at(i: number): T | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    if (this.nulls?.[i]) return null as T;
    return this.bytes.toString('utf8', this.starts[i]!, this.starts[i + 1]!) as T;
  }

  /** Whether any row is null. */
  get hasNulls(): boolean {
    return this.nulls?.includes(1) ?? false;
  }
}

/**
 * The byte offsets of rows from..to of a string column whose row offsets count UTF-16 code units:
 * walks the UTF-8 lead bytes (a 4-byte character is 2 code units). Continues from byte `p`, unit `u`;
 * returns where it stopped. Throws when a row boundary falls inside a character.
 */
function byteStarts(bytes: Uint8Array, units: Uint32Array, out: Uint32Array, from: number, to: number, p: number, u: number): [number, number] {
  for (let i = from; i < to; i++) {
    out[i] = p;
    const end = units[i + 1]!;
    while (u < end) {
      const b = bytes[p]!;
      if (b < 0x80) { p += 1; u += 1; } else if (b < 0xe0) { p += 2; u += 1; } else if (b < 0xf0) { p += 3; u += 1; } else { p += 4; u += 2; }
    }
    if (u !== end) throw new Error(`row ${i} ends inside a character`);
  }
  return [p, u];
}

export type NumericColumn = Float64Array | Float32Array | Int32Array | Uint32Array | Int8Array | Uint8Array;

const CTORS = {
  f64: Float64Array, f32: Float32Array, i32: Int32Array, u32: Uint32Array, i8: Int8Array, u8: Uint8Array,
} as const;

function typeOf(a: NumericColumn): Exclude<SegmentType, 'utf8'> {
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int8Array) return 'i8';
  return 'u8';
}

/**
 * Collects segments in order; `chunks` are the file's bytes (padding included), `entries` go in the
 * manifest. With a `sink`, each piece of the file's bytes goes to it as it is made instead (`chunks`
 * stays empty): the writer of a large catalog holds one column's encoding at a time.
 */
export class SegmentWriter {
  readonly entries: SegmentEntry[] = [];
  readonly chunks: Uint8Array[] = [];
  private at = 0;

  constructor(private readonly sink?: (bytes: Uint8Array) => void) {}

  private emit(bytes: Uint8Array): void {
    if (this.sink) this.sink(bytes);
    else this.chunks.push(bytes);
    this.at += bytes.byteLength;
  }

  /** Where the bytes of each segment written whole lie, by their size and digest (`push`). */
  private readonly written = new Map<string, number>();

  /**
   * One segment from one or more pieces of bytes laid end to end. A segment given whole (a numeric
   * column, a string column's text) whose bytes were written before is an entry over those bytes, not a
   * second copy: a reader's views of both share one range of its buffer (at 1M tracks, 28.8 MiB of the
   * artists' names, keys, popularity and track counts were written once for the artist table and again
   * for the name index). Never for a column a server leaves unread, whose range a reader does not fill.
   */
  private push(name: string, type: SegmentType, bytes: Uint8Array | Iterable<Uint8Array>, length: number, extra: Pick<SegmentEntry, 'decimals'> = {}): void {
    if (this.entries.some((e) => e.name === name)) throw new Error(`segment ${name} written twice`);
    if (bytes instanceof Uint8Array && bytes.byteLength >= SHARED_MIN_BYTES && !unreadByName(name)) {
      const key = `${bytes.byteLength}:${createHash('sha256').update(bytes).digest('base64')}`;
      const at = this.written.get(key);
      if (at !== undefined) {
        this.entries.push({ name, type, offset: at, length, ...extra });
        return;
      }
      this.written.set(key, this.at);
    }
    this.entries.push({ name, type, offset: this.at, length, ...extra });
    for (const b of bytes instanceof Uint8Array ? [bytes] : bytes) this.emit(b);
    const pad = (8 - (this.at % 8)) % 8;
    if (pad) this.emit(new Uint8Array(pad));
  }

  numbers(name: string, a: NumericColumn, extra?: Pick<SegmentEntry, 'decimals'>): void {
    this.push(name, typeOf(a), new Uint8Array(a.buffer, a.byteOffset, a.byteLength), a.length, extra);
  }

  /** A NumberColumn as it is held: `f64`, or `i32` decimal digits with their places in the entry. */
  numberColumn(name: string, c: NumberColumn): void {
    if (c.digits) this.numbers(name, c.digits, { decimals: c.decimals });
    else this.numbers(name, c.float!);
  }

  /**
   * A string column: `<name>.utf8`, `<name>.offsets` (UTF-16 code units), when a value is null
   * `<name>.nulls`, and when any character takes more than one byte `<name>.starts` (the rows' byte offsets).
   */
  strings(name: string, values: Strings<string | null>): void {
    const n = values.length;
    const offsets = new Uint32Array(n + 1);
    let nulls: Uint8Array | null = null;
    const encoder = new TextEncoder();
    // Encoded in pieces of bounded size: no single JS string holds the whole column.
    const pieces: Uint8Array[] = [];
    let text = '';
    let units = 0;
    let bytes = 0;
    const flush = () => {
      if (!text) return;
      const b = encoder.encode(text);
      pieces.push(b);
      bytes += b.byteLength;
      text = '';
    };
    for (let i = 0; i < n; i++) {
      const v = values.at(i);
      offsets[i] = units;
      if (v === null || v === undefined) {
        (nulls ??= new Uint8Array(n))[i] = 1;
        continue;
      }
      text += v;
      units += v.length;
      if (units > 0xffff_ffff) throw new Error(`string column ${name} exceeds 4 G code units`);
      if (text.length > 1 << 20) flush();
    }
    flush();
    offsets[n] = units;
    const blob = new Uint8Array(bytes);
    let p = 0;
    for (const b of pieces) {
      blob.set(b, p);
      p += b.byteLength;
    }
    this.push(`${name}.utf8`, 'utf8', blob, bytes);
    this.numbers(`${name}.offsets`, offsets);
    if (nulls) this.numbers(`${name}.nulls`, nulls);
    if (bytes !== units) {
      // Some character takes more than one byte: each row's byte offset too, so a reader need not find them (stringColumn).
      const starts = new Uint32Array(n + 1);
      const [end] = byteStarts(blob, offsets, starts, 0, n, 0, 0);
      starts[n] = end;
      this.numbers(`${name}.starts`, starts);
    }
  }

  /**
   * A column of texts read one at a time (`SegmentReader.texts`): `<name>.utf8` plus `Uint32` byte
   * offsets `<name>.bytes`, so a reader decodes only the rows it is asked for.
   */
  texts(name: string, count: number, value: (i: number) => string): void {
    const column = new TextColumn(name);
    for (let i = 0; i < count; i++) column.add(value(i));
    this.textColumn(name, column);
  }

  /** A text column already encoded (see `texts`). */
  textColumn(name: string, column: TextColumn): void {
    const { blocks, offsets } = column.encoded();
    this.push(`${name}.utf8`, 'utf8', blocks, offsets[offsets.length - 1]!);
    this.numbers(`${name}.bytes`, offsets);
  }

  get byteLength(): number {
    return this.at;
  }
}

/** Bytes a segment takes in its file. */
export function segmentBytes(e: SegmentEntry): number {
  return e.type === 'utf8' ? e.length : e.length * CTORS[e.type].BYTES_PER_ELEMENT;
}

/** Fill `target` with the bytes of file `fd` from `offset` on; throws naming `what` when the file ends first. */
export function readFully(fd: number, target: Uint8Array, offset: number, what: string): void {
  for (let got = 0; got < target.byteLength;) {
    const n = readSync(fd, target, got, target.byteLength - got, offset + got);
    if (n === 0) throw new Error(`${what} ended at byte ${offset + got} while reading ${target.byteLength} bytes at ${offset}`);
    got += n;
  }
}

/** Segments smaller than this are written again rather than looked up (`SegmentWriter.push`). */
const SHARED_MIN_BYTES = 4096;

/** Rows of a string column whose byte offsets are found per step (`SegmentReader.stringColumn`). */
const ROWS_PER_STEP = 1 << 16;

/** Bytes per block of a TextColumn (a longer text gets a block of its own size). */
const TEXT_BLOCK = 1 << 20;

/**
 * Texts appended one at a time and held as UTF-8 in blocks of about 1 MiB, readable back by row: the
 * bytes of a `texts` segment built while its rows arrive, so the rows never exist as objects at once.
 * With a spill file, each full block is written there and let go of (a row is then read back from the
 * file when asked for): the column holds one block in memory, not its whole text.
 */
export class TextColumn {
  /** The full blocks, in memory (no spill file). */
  private readonly blocks: Uint8Array[] = [];
  /** Byte offset of each row in the whole column. */
  private readonly offsets = new Grow(new Uint32Array(1024));
  /** Block of each row, and the column offset where each block starts. */
  private readonly blockOf = new Grow(new Int32Array(1024));
  private readonly blockStart: number[] = [];
  private block = new Uint8Array(0);
  private used = 0;
  private bytes = 0;
  private count = 0;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** The spill file's descriptor (its bytes are the column's, from offset 0, up to the current block). */
  private fd: number | null = null;

  /**
   * `name` is for error messages. `spillTo`: a file to create (it must not exist) that holds the full
   * blocks; `discard()` removes it.
   */
  constructor(private readonly name = 'text column', private readonly spillTo?: string) {
    if (spillTo !== undefined) this.fd = openSync(spillTo, 'wx+');
  }

  get length(): number {
    return this.count;
  }

  add(text: string): void {
    let r = this.blockStart.length > 0 ? this.encoder.encodeInto(text, this.block.subarray(this.used)) : null;
    if (!r || r.read < text.length) {
      this.seal();
      // At most 3 bytes per UTF-16 code unit.
      this.block = new Uint8Array(Math.max(TEXT_BLOCK, text.length * 3));
      this.blockStart.push(this.bytes);
      r = this.encoder.encodeInto(text, this.block);
    }
    this.offsets.push(this.bytes);
    this.blockOf.push(this.blockStart.length - 1);
    this.used += r.written;
    this.bytes += r.written;
    if (this.bytes > 0xffff_ffff) throw new Error(`text column ${this.name} exceeds 4 GB`);
    this.count++;
  }

  /** Row i, decoded. */
  get(i: number): string {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`text column ${this.name} has no row ${i} (it holds ${this.count})`);
    const [offsets, blockOf] = [this.offsets.values, this.blockOf.values];
    const b = blockOf[i]!;
    const start = offsets[i]!;
    const end = i + 1 < this.count && blockOf[i + 1] === b ? offsets[i + 1]! : this.blockStart[b]! + this.blockUsed(b);
    return this.decoder.decode(this.range(b, start, end));
  }

  /** The column's bytes (pieces, in order: a spilled column's are read from its file as they are taken) and its n + 1 byte offsets. */
  encoded(): { blocks: Iterable<Uint8Array>; offsets: Uint32Array } {
    const offsets = new Uint32Array(this.count + 1);
    offsets.set(this.offsets.values.subarray(0, this.count));
    offsets[this.count] = this.bytes;
    const last = this.block.subarray(0, this.used);
    if (this.fd === null) return { blocks: [...this.blocks, last].filter((b) => b.byteLength > 0), offsets };
    const spilled = this.bytes - this.used;
    const self = this;
    function* pieces(): Generator<Uint8Array> {
      for (let at = 0; at < spilled; at += TEXT_BLOCK) yield self.readFile(at, Math.min(at + TEXT_BLOCK, spilled));
      if (last.byteLength > 0) yield last;
    }
    return { blocks: pieces(), offsets };
  }

  /** Close and remove the spill file (no row can be read after). Does nothing without one. */
  discard(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    rmSync(this.spillTo!, { force: true });
  }

  /** Bytes start..end (column offsets) of block b. */
  private range(b: number, start: number, end: number): Uint8Array {
    const base = this.blockStart[b]!;
    if (b === this.blockStart.length - 1) return this.block.subarray(start - base, end - base);
    return this.spillTo === undefined ? this.blocks[b]!.subarray(start - base, end - base) : this.readFile(start, end);
  }

  /** Bytes start..end of the spill file. */
  private readFile(start: number, end: number): Uint8Array {
    if (this.fd === null) throw new Error(`text column ${this.name} was discarded`);
    const out = Buffer.allocUnsafe(end - start);
    readFully(this.fd, out, start, `the spill file of text column ${this.name}`);
    return out;
  }

  private blockUsed(b: number): number {
    return b === this.blockStart.length - 1 ? this.used : this.blockStart[b + 1]! - this.blockStart[b]!;
  }

  /** Keep the current block, trimmed to what it holds: in memory, or written to the spill file. */
  private seal(): void {
    if (this.blockStart.length === 0) return;
    const full = this.block.subarray(0, this.used);
    if (this.fd === null) this.blocks.push(full);
    else for (let at = 0; at < full.byteLength;) at += writeSync(this.fd, full, at, full.byteLength - at, this.blockStart[this.blockStart.length - 1]! + at);
    this.used = 0;
  }
}

/**
 * Segments left on disk when a segment file is read: the bytes of every `texts` column (a row is read
 * when asked for, so the 35 MiB of artist profiles of the default dataset are not held in memory).
 */
export function onDiskSegments(entries: readonly SegmentEntry[]): SegmentEntry[] {
  const names = new Set(entries.map((e) => e.name));
  return entries.filter((e) => e.type === 'utf8' && e.name.endsWith('.utf8') && names.has(`${e.name.slice(0, -'.utf8'.length)}.bytes`));
}

/**
 * Segments a server never reads (each track's album_id: read back only by `readSnapshot`), named by the
 * column's prefix. Left unread like `onDiskSegments`; a reader that asks for one gets it from the file.
 */
const UNSERVED_COLUMNS = ['album_id.'];

/**
 * Segments a server reads a range at a time (`SegmentReader.i32Ranges`): the postings of the two name
 * suggestion indexes (name-index.ts), read only for a name the catalog does not hold (≈ 25 MiB at 1M tracks).
 */
const RANGE_READ = /^titles\.v\d+\.near_(titles|artists)\.ids$/;

/** Whether a segment is left unread by its name alone (the unserved columns and those read by range). */
function unreadByName(name: string): boolean {
  return RANGE_READ.test(name) || UNSERVED_COLUMNS.some((prefix) => name.startsWith(prefix));
}

/**
 * Every segment left out of memory when a segment file is read: `onDiskSegments`, the columns a server
 * never reads and the suggestion postings read by range.
 */
export function unreadSegments(entries: readonly SegmentEntry[]): SegmentEntry[] {
  const onDisk = new Set(onDiskSegments(entries));
  return entries.filter((e) => onDisk.has(e) || unreadByName(e.name));
}

/** An i32 segment read a range of elements at a time: `read(from, to)` gives elements from..to. */
export interface Int32Ranges {
  readonly length: number;
  read(from: number, to: number): Int32Array;
}

/** The ranges of an array in memory (views of it, no copy). */
export function int32Ranges(a: Int32Array): Int32Ranges {
  return { length: a.length, read: (from, to) => a.subarray(from, to) };
}

/** Reads a byte range of the segment file (the segments `unreadSegments` names are not in memory). */
export type ReadRange = (offset: number, length: number) => Uint8Array;

/** Typed views over a segment file's bytes, by the manifest's entries. */
export class SegmentReader {
  private readonly byName: Map<string, SegmentEntry>;
  /** Segments whose range of `bytes` is not read (with `readRange` only). */
  private readonly unread: ReadonlySet<SegmentEntry>;

  /**
   * `bytes` must start at an 8-byte aligned address (a Buffer from readFile of a large file does).
   * With `readRange`, the `unreadSegments` of `entries` are read from the file when asked for (the
   * `onDiskSegments` row by row, the suggestion postings a range at a time), and their range of `bytes` is
   * never looked at (a reader may leave it unread).
   */
  constructor(private readonly bytes: Uint8Array, entries: readonly SegmentEntry[], private readonly readRange?: ReadRange) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
    this.unread = new Set(readRange ? unreadSegments(entries) : []);
    for (const e of entries) {
      const size = segmentBytes(e);
      if (!Number.isSafeInteger(e.offset) || e.offset % 8 !== 0 || e.offset + size > bytes.byteLength) {
        throw new Error(`segment ${e.name} (offset ${e.offset}, ${size} bytes) lies outside the ${bytes.byteLength}-byte segment file`);
      }
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private entry(name: string, type: SegmentType): SegmentEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`segment ${name} is missing`);
    if (e.type !== type) throw new Error(`segment ${name} is ${e.type}, expected ${type}`);
    return e;
  }

  f64(name: string): Float64Array { return this.view(name, 'f64') as Float64Array; }
  /** A column written by `SegmentWriter.numberColumn`. */
  numberColumn(name: string): NumberColumn {
    const e = this.byName.get(name);
    return e?.type === 'i32' && e.decimals !== undefined ? NumberColumn.ofDigits(this.i32(name), e.decimals) : NumberColumn.ofFloats(this.f64(name));
  }
  f32(name: string): Float32Array { return this.view(name, 'f32') as Float32Array; }
  i32(name: string): Int32Array { return this.view(name, 'i32') as Int32Array; }
  u32(name: string): Uint32Array { return this.view(name, 'u32') as Uint32Array; }
  i8(name: string): Int8Array { return this.view(name, 'i8') as Int8Array; }
  u8(name: string): Uint8Array { return this.view(name, 'u8') as Uint8Array; }

  private view(name: string, type: Exclude<SegmentType, 'utf8'>): NumericColumn {
    const e = this.entry(name, type);
    if (!this.unread.has(e)) return new CTORS[type](this.bytes.buffer as ArrayBuffer, this.bytes.byteOffset + e.offset, e.length);
    // Left unread: read now into an array of its own (aligned for its element type).
    const out = new CTORS[type](e.length);
    new Uint8Array(out.buffer).set(this.readRange!(e.offset, out.byteLength));
    return out;
  }

  /**
   * An i32 segment read a range at a time: views of the bytes in memory, or, for a segment left unread,
   * each range read from the file when asked for (synchronously, on the calling thread, through
   * `readRange`: its blocks' checksums are checked on first read, as for the artist profiles).
   */
  i32Ranges(name: string): Int32Ranges {
    const e = this.entry(name, 'i32');
    if (!this.unread.has(e)) return int32Ranges(this.i32(name));
    // Reads through `this`: while the ranges are held, so is this reader, and with it its open file (snapshot.ts `keepOpenWhile`).
    return {
      length: e.length,
      read: (from, to) => {
        if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= e.length)) {
          throw new RangeError(`segment ${name} has no elements ${from}..${to} (it holds ${e.length})`);
        }
        const bytes = this.readRange!(e.offset + from * 4, (to - from) * 4);
        if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, to - from);
        const out = new Int32Array(to - from);
        new Uint8Array(out.buffer).set(bytes);
        return out;
      },
    };
  }

  /** The bytes of a utf8 segment: in place, or read from the file when it was left unread. */
  private utf8Bytes(e: SegmentEntry): Uint8Array {
    return this.unread.has(e) ? this.readRange!(e.offset, e.length) : this.bytes.subarray(e.offset, e.offset + e.length);
  }

  /** A column written by `SegmentWriter.texts`: its length, and row i decoded on demand. */
  texts(name: string): { length: number; get(i: number): string } {
    const e = this.entry(`${name}.utf8`, 'utf8');
    const offsets = this.u32(`${name}.bytes`);
    if (offsets[offsets.length - 1] !== e.length) throw new Error(`text column ${name} holds ${e.length} bytes, its offsets say ${offsets[offsets.length - 1]}`);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const length = offsets.length - 1;
    const row = (i: number): [number, number] => {
      if (!(i >= 0 && i < length)) throw new RangeError(`text column ${name} has no row ${i} (it holds ${length})`);
      return [offsets[i]!, offsets[i + 1]!];
    };
    const { readRange } = this;
    if (readRange) {
      return { length, get: (i) => { const [a, b] = row(i); return decoder.decode(readRange(e.offset + a, b - a)); } };
    }
    const blob = this.bytes.subarray(e.offset, e.offset + e.length);
    return { length, get: (i) => { const [a, b] = row(i); return decoder.decode(blob.subarray(a, b)); } };
  }

  /**
   * A string column read in place (`StringColumn`): its bytes checked as UTF-8 and, when any character
   * takes more than one byte, each row's byte offset found by a walk over the bytes, in steps of
   * ROWS_PER_STEP rows (slices.ts). Nothing is decoded until a row is asked for.
   */
  *stringColumn(name: string): Steps<StringColumn> {
    const e = this.entry(`${name}.utf8`, 'utf8');
    const offsets = this.u32(`${name}.offsets`);
    const nulls = this.has(`${name}.nulls`) ? this.u8(`${name}.nulls`) : null;
    const n = offsets.length - 1;
    if (nulls && nulls.length !== n) throw new Error(`string column ${name} has ${n} rows and ${nulls.length} null flags`);
    const inPlace = this.utf8Bytes(e);
    const bytes = Buffer.from(inPlace.buffer, inPlace.byteOffset, inPlace.byteLength);
    if (!isUtf8(bytes)) throw new Error(`string column ${name} is not UTF-8`);
    yield;
    // As many bytes as code units: every character is ASCII, so the offsets are byte offsets already.
    if (offsets[n] === e.length) return new StringColumn(bytes, offsets, nulls);
    if (this.has(`${name}.starts`)) {
      // The byte offsets the writer stored (snapshots written before them have none: found below).
      const stored = this.u32(`${name}.starts`);
      if (stored.length !== n + 1 || stored[0] !== 0 || stored[n] !== e.length) throw new Error(`string column ${name}: its byte offsets disagree with its ${e.length} bytes`);
      for (let from = 0; from < n; from += ROWS_PER_STEP) {
        const to = Math.min(n, from + ROWS_PER_STEP);
        for (let i = from; i < to; i++) if (stored[i]! > stored[i + 1]!) throw new Error(`string column ${name}: row ${i} ends before it starts`);
        yield;
      }
      return new StringColumn(bytes, stored, nulls);
    }
    const starts = new Uint32Array(n + 1);
    let at: [number, number] = [0, 0];
    for (let from = 0; from < n; from += ROWS_PER_STEP) {
      try {
        at = byteStarts(bytes, offsets, starts, from, Math.min(n, from + ROWS_PER_STEP), ...at);
      } catch (err) {
        throw new Error(`string column ${name}: ${(err as Error).message}`);
      }
      yield;
    }
    if (at[0] !== e.length || at[1] !== offsets[n]) throw new Error(`string column ${name} holds ${e.length} bytes, its offsets end at code unit ${offsets[n]}`);
    starts[n] = at[0];
    return new StringColumn(bytes, starts, nulls);
  }

  /**
   * A string column's rows, decoded in steps: each `yield` hands control back (see slices.ts), so a
   * million strings never hold the thread at once. Returns the array.
   */
  *strings(name: string): Generator<void, (string | null)[]> {
    const e = this.entry(`${name}.utf8`, 'utf8');
    const offsets = this.u32(`${name}.offsets`);
    const nulls = this.has(`${name}.nulls`) ? this.u8(`${name}.nulls`) : null;
    const n = offsets.length - 1;
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.utf8Bytes(e));
    if (text.length !== offsets[n]) throw new Error(`string column ${name} holds ${text.length} code units, its offsets say ${offsets[n]}`);
    const out = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      out[i] = nulls?.[i] ? null : text.slice(offsets[i]!, offsets[i + 1]!);
      if ((i & 0x3ff) === 0x3ff) yield;
    }
    return out;
  }
}
