/**
 * What the bytes of a dataset file are, before anything parses them as CSV.
 *
 * - Binary input (a gzip/zip/bzip2/xz/zstd archive, or a file with NUL bytes) is refused with one line
 *   that says what it is and how to fix it, and never reaches a parser, a terminal or SQL.
 * - UTF-8 (the expected encoding, BOM or not) and UTF-16LE with a BOM (the tokenizer decodes it) pass.
 * - Bytes that are not UTF-8: when the file holds no UTF-8 multi-byte character at all and every high
 *   byte is a Windows-1252 character, it is a single-byte (Windows-1252 / Latin-1) export and is
 *   transcoded, with a note for the run record. Anything else (a file that mixes UTF-8 with other bytes,
 *   or uses bytes Windows-1252 leaves undefined) is refused with the line of the first bad byte: reading
 *   it either way would stage garbled names.
 *
 * The ingest checks the bytes as it reads them ({@link Utf8TextCheck}: Node's native `buffer.isUtf8`);
 * only a file that fails is read again by {@link inspectEncoding}, whose byte-by-byte classification
 * finds the line and decides between refusing and transcoding.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import iconv from 'iconv-lite';
import { DatasetError } from '../errors.js';

export type InputEncoding = 'utf-8' | 'utf-16le' | 'windows-1252';

export interface EncodingCheck {
  encoding: InputEncoding;
  /** Set when the file is read other than as it is (transcoded), for the run record. */
  note: string | null;
}

/** How many leading bytes {@link sniffBinary} looks at. */
export const SNIFF_BYTES = 64 * 1024;

const SIGNATURES: readonly { magic: readonly number[]; what: string; fix: string }[] = [
  { magic: [0x1f, 0x8b], what: 'gzip-compressed', fix: 'decompress it first (gunzip -k FILE)' },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive (or an Excel workbook)', fix: 'extract or export the CSV from it' },
  { magic: [0x42, 0x5a, 0x68], what: 'bzip2-compressed', fix: 'decompress it first (bunzip2 -k FILE)' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed', fix: 'decompress it first (unxz -k FILE)' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed', fix: 'decompress it first (unzstd FILE)' },
];

/** Bytes Windows-1252 does not define: a file holding one is not a Windows-1252 text. */
const CP1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

const hex = (b: number): string => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Refuse binary input from its first bytes (pass at least {@link SNIFF_BYTES} when the file has them).
 * `file` is how the message names the file.
 */
export function sniffBinary(head: Buffer, file: string): void {
  for (const sig of SIGNATURES) {
    if (head.length >= sig.magic.length && sig.magic.every((b, i) => head[i] === b)) {
      throw new DatasetError(`${file} is ${sig.what}, not a CSV text file; ${sig.fix.replace('FILE', file)} and point MUSIC_DATASET at the .csv`);
    }
  }
  if (head[0] === 0xff && head[1] === 0xfe) return; // UTF-16LE with a BOM: decoded by the tokenizer
  if (head[0] === 0xfe && head[1] === 0xff) {
    throw new DatasetError(`${file} is UTF-16 big-endian text, which the ingest does not read; save it as UTF-8 and run again`);
  }
  const nul = head.indexOf(0);
  if (nul >= 0) throw nulError(head, nul, file, lineAt(head, nul));
}

/** `at`: the NUL's index in `head`; `offset`: its offset in the file. */
function nulError(head: Buffer, at: number, file: string, line: number, offset = at): DatasetError {
  // ASCII text saved as UTF-16 without a BOM: every other byte is NUL, the bytes between are not.
  let text = 0;
  let pairs = 0;
  for (let i = at % 2; i + 1 < Math.min(head.length, at + 512); i += 2, pairs++) {
    const other = at % 2 === 0 ? head[i + 1]! : head[i - 1];
    if (head[i] === 0 && other !== undefined && other !== 0) text++;
  }
  if (pairs >= 8 && text >= pairs - 1) {
    return new DatasetError(`${file} looks like UTF-16 text without a byte-order mark; save it as UTF-8 and run again`);
  }
  return new DatasetError(
    `${file} holds binary data (a NUL byte on line ${line}, byte offset ${offset}), not CSV text; check that MUSIC_DATASET points at the CSV file`,
  );
}

/** Physical line (1-based; CRLF, CR and LF each end one) of byte `at` in `buf`. */
function lineAt(buf: Buffer, at: number): number {
  let line = 1;
  for (let i = 0; i < at; i++) {
    const b = buf[i]!;
    if (b === 0x0d || (b === 0x0a && (i === 0 || buf[i - 1] !== 0x0d))) line++;
  }
  return line;
}

/**
 * Read the whole file and decide how to decode it (see the module comment); throws a DatasetError
 * naming the line for binary data or bytes that are not UTF-8 and not recognisably Windows-1252.
 */
export async function inspectEncoding(path: string, file: string): Promise<EncodingCheck> {
  const check = new Utf8TextCheck(file);
  let offset = 0;
  let valid = true;
  for await (const raw of createReadStream(path, { highWaterMark: SNIFF_BYTES }) as AsyncIterable<Buffer>) {
    if (!check.push(raw)) valid = false;
    const nul = check.utf16 ? -1 : raw.indexOf(0);
    if (nul >= 0) throw nulError(raw, nul, file, (await classify(path, offset + nul)).line, offset + nul);
    offset += raw.length;
  }
  if (check.utf16) return { encoding: 'utf-16le', note: null };
  if (valid && check.end()) return { encoding: 'utf-8', note: null };

  const scan = await classify(path, Infinity);
  const where = `line ${scan.line} (byte ${hex(scan.byte)} at offset ${scan.offset})`;
  if (scan.multibyte > 0) {
    throw new DatasetError(
      `${file} is not valid UTF-8 at ${where}, while other lines are UTF-8: it mixes encodings; ` +
        'save it as UTF-8 and run again (nothing was staged)',
    );
  }
  if (scan.undefinedCp1252 !== null) {
    throw new DatasetError(
      `${file} is not valid UTF-8 at ${where} and is not Windows-1252 either (byte ${hex(scan.undefinedCp1252)} ` +
        'has no character there); save it as UTF-8 and run again (nothing was staged)',
    );
  }
  return {
    encoding: 'windows-1252',
    note: `${file} is not UTF-8 (first at ${where}); read as Windows-1252 (Latin-1) and transcoded to UTF-8`,
  };
}

/**
 * Checks a file chunk by chunk as it is read: binary signatures are refused (thrown) from the first
 * chunk, and `push` returns false once the bytes are not UTF-8 text (a NUL, or a byte sequence that is
 * not UTF-8); {@link inspectEncoding} then says why, or how to read it. UTF-16LE with a BOM passes.
 */
export class Utf8TextCheck {
  private first = true;
  /** The file starts with a UTF-16LE BOM (decoded by the tokenizer; not checked here). */
  utf16 = false;
  /** An incomplete UTF-8 sequence at the end of the previous chunk. */
  private carry: Buffer | null = null;
  private ok = true;

  constructor(private readonly file: string) {}

  push(chunk: Buffer): boolean {
    if (this.first) {
      this.first = false;
      sniffBinary(chunk.subarray(0, SNIFF_BYTES), this.file);
      this.utf16 = chunk[0] === 0xff && chunk[1] === 0xfe;
    }
    if (this.utf16 || !this.ok) return this.ok;
    if (chunk.indexOf(0) >= 0) return (this.ok = false);
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = incompleteTail(buf);
    this.carry = cut < buf.length ? Buffer.from(buf.subarray(cut)) : null;
    return (this.ok = isUtf8(buf.subarray(0, cut)));
  }

  /** The input is complete: true when all of it was UTF-8 text (no character cut off at the end). */
  end(): boolean {
    return this.ok && (this.utf16 || this.carry === null);
  }
}

/** Where the complete UTF-8 sequences of `buf` end: a trailing lead byte whose sequence is cut off stays out. */
function incompleteTail(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back]!;
    if (b < 0x80) return n; // ASCII: nothing open
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > back ? n - back : n;
    }
  }
  return n;
}

interface Classification {
  /** Line, offset and value of the first byte that is not part of valid UTF-8 (or of the byte asked for). */
  line: number;
  offset: number;
  byte: number;
  /** Valid UTF-8 sequences of two or more bytes. */
  multibyte: number;
  /** The first invalid byte Windows-1252 leaves undefined, if any. */
  undefinedCp1252: number | null;
}

/**
 * Walk the file byte by byte (only for a file that failed the fast check): UTF-8 sequences, the first
 * invalid byte and its line. With a finite `stopAt`, stops there and reports that byte's line.
 */
async function classify(path: string, stopAt: number): Promise<Classification> {
  const out: Classification = { line: 0, offset: -1, byte: 0, multibyte: 0, undefinedCp1252: null };
  let line = 1;
  let prev = -1;
  let pos = 0;
  let pending: Buffer = Buffer.alloc(0);
  const stream = createReadStream(path, { highWaterMark: SNIFF_BYTES });
  try {
    for await (const raw of stream as AsyncIterable<Buffer>) {
      const buf = pending.length ? Buffer.concat([pending, raw]) : raw;
      const base = pos - pending.length;
      let i = 0;
      // Keep the last 3 bytes for the next chunk (a sequence may continue there), unless this is the end.
      const limit = buf.length - 3;
      while (i < limit) i = step(buf, i, base);
      pending = Buffer.from(buf.subarray(i));
      pos += raw.length;
      if (base + i > stopAt) break;
    }
    let i = 0;
    while (i < pending.length && pos - pending.length + i <= stopAt) i = step(pending, i, pos - pending.length);
  } finally {
    stream.destroy();
  }
  if (out.offset < 0) out.line = line;
  return out;

  /** Read one character at `i`; returns where the next starts. */
  function step(buf: Buffer, i: number, base: number): number {
    const at = base + i;
    if (at === stopAt && out.offset < 0) {
      Object.assign(out, { line, offset: at, byte: buf[i]! });
    }
    const b = buf[i]!;
    if (b < 0x80) {
      if (b === 0x0d || (b === 0x0a && prev !== 0x0d)) line++;
      prev = b;
      return i + 1;
    }
    prev = b;
    const len = utf8Length(buf, i);
    if (len > 1) {
      out.multibyte++;
      return i + len;
    }
    if (out.offset < 0 && stopAt === Infinity) Object.assign(out, { line, offset: at, byte: b });
    if (out.undefinedCp1252 === null && CP1252_UNDEFINED.has(b)) out.undefinedCp1252 = b;
    return i + 1;
  }
}

/** Length of the valid UTF-8 sequence starting at `i` (lead byte ≥ 0x80), or 0 when it is not one. */
function utf8Length(buf: Buffer, i: number): number {
  const b = buf[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const c = buf[i + k];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * Decodes Windows-1252 chunks into UTF-8 bytes (single-byte: every chunk decodes on its own). iconv-lite,
 * not TextDecoder: Node's TextDecoder reads 'windows-1252' as ISO-8859-1 (0x80 → U+0080, not €).
 */
export function windows1252ToUtf8(): (chunk: Buffer) => Buffer {
  return (chunk) => Buffer.from(iconv.decode(chunk, 'windows-1252'), 'utf8');
}
