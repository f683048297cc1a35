/**
 * The ingest's CSV tokenizer: RFC 4180 records from a byte stream, written for the hot path (an
 * unquoted cell is one scan and one slice) and kept record-for-record identical to csv-parse with the
 * options the ingest used before (`bom: true, relax_column_count: true, relax_quotes: true`; default
 * delimiter, quote and record delimiter discovery). tests/csv-tokenizer.test.ts checks that against
 * csv-parse on the real file and on generated CSVs.
 *
 * What that means, in short:
 * - a UTF-8 BOM (or a UTF-16LE one, which switches the decoding) is dropped;
 * - the record delimiter is the first CR, LF or CRLF met outside quotes; any other CR/LF outside quotes
 *   is an ordinary character;
 * - a cell that starts with `"` is quoted: `""` inside is one quote and a quote closes it when followed
 *   by `,`, the record delimiter or the end of the input. A quote followed by anything else does not
 *   fail the file: the cell is read on as text and keeps both quotes (`"ab"cd` → `"ab"cd`). A quote
 *   inside an unquoted cell is an ordinary character (`12" Mix`);
 * - ragged records are returned as they are (the mapper rejects them);
 * - the only fatal error is a quoted cell still open at the end of the input ({@link CsvQuoteError},
 *   with csv-parse's message and line).
 *
 * Each record comes with the physical line it starts on (the header is line 1; CRLF, CR and LF each end
 * one line, also inside quoted cells) and whether it is a blank line.
 */
import { StringDecoder } from 'node:string_decoder';

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

/** Receives each record in file order. `cells` is owned by the receiver. */
export type CsvRecordSink = (cells: string[], line: number, blank: boolean) => void;

/** A quoted cell is still open at the end of the input. `code` and message match csv-parse's. */
export class CsvQuoteError extends Error {
  readonly code = 'CSV_QUOTE_NOT_CLOSED';
  constructor(readonly line: number) {
    super(`Quote Not Closed: the parsing is finished with an opening quote at line ${line}`);
    this.name = 'CsvQuoteError';
  }
}

const EMPTY = Buffer.alloc(0);

const enum Delimiter {
  Unknown,
  Lf,
  Cr,
  CrLf,
}

/** Returned by the record reader when the text ends before the record does. */
const MORE = -1;

export class CsvTokenizer {
  /**
   * UTF-8 input (the usual case) is scanned as Latin-1 text: one character per byte, so positions are
   * byte offsets and every structural character (`,` `"` CR LF) is itself. A cell made of ASCII is then
   * a slice of that text; a cell with bytes ≥ 0x80 is decoded as UTF-8 from `bytes`, on its own, as
   * csv-parse decodes each field. UTF-16LE input (a FF FE BOM) is decoded up front instead (`decoder`).
   */
  private bytes: Buffer = EMPTY;
  private decoder: StringDecoder | null = null;
  private started = false;
  /** Decoded text not yet consumed (UTF-16LE input only); starts at a record boundary. */
  private text = '';
  /** Don't retry an incomplete record before this much input is buffered (keeps huge records linear). */
  private retryAt = 0;
  private delimiter = Delimiter.Unknown;
  /** Line breaks of the records so far (CRLF counted once): the next record starts on line `breaks + 1`. */
  private breaks = 0;
  /** CR and LF characters read so far, each counted (csv-parse's line count, used in its error message). */
  private parserBreaks = 0;
  private ended = false;

  /** Tokenize one chunk; complete records go to `sink` before this returns. */
  write(chunk: Buffer, sink: CsvRecordSink): void {
    if (this.ended) throw new Error('CsvTokenizer.write after end');
    if (!this.started) {
      const head = this.bytes.length ? Buffer.concat([this.bytes, chunk]) : chunk;
      if (head.length < 3) {
        this.bytes = Buffer.from(head);
        return;
      }
      this.started = true;
      this.bytes = EMPTY;
      if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
        chunk = head.subarray(3);
      } else if (head[0] === 0xff && head[1] === 0xfe) {
        this.decoder = new StringDecoder('utf16le');
        chunk = head.subarray(2);
      } else {
        chunk = head;
      }
    }
    this.feed(chunk, sink, false);
  }

  /** The input is complete: emit the last record, or throw {@link CsvQuoteError}. */
  end(sink: CsvRecordSink): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.started) {
      // Shorter than a BOM: read as UTF-8 as it is.
      this.started = true;
      const head = this.bytes;
      this.bytes = EMPTY;
      this.feed(head, sink, true);
      return;
    }
    this.feed(EMPTY, sink, true);
  }

  private feed(chunk: Buffer, sink: CsvRecordSink, final: boolean): void {
    if (this.decoder !== null) {
      const more = final ? this.decoder.write(chunk) + this.decoder.end() : this.decoder.write(chunk);
      const s = this.text.length === 0 ? more : this.text + more;
      if (!final && s.length < this.retryAt) {
        this.text = s;
        return;
      }
      const at = this.records(s, final, sink);
      this.text = at === 0 ? s : s.slice(at);
      this.retryAt = this.text.length * 2;
      return;
    }
    const bytes = this.bytes.length === 0 ? chunk : Buffer.concat([this.bytes, chunk]);
    if (!final && bytes.length < this.retryAt) {
      this.bytes = bytes;
      return;
    }
    this.bytes = bytes;
    const at = this.records(bytes.toString('latin1'), final, sink);
    // Keep the unread tail in a buffer of its own (the chunk may be reused by its producer).
    this.bytes = at === bytes.length ? EMPTY : Buffer.from(bytes.subarray(at));
    // A record longer than what is buffered: wait until the buffer doubles before scanning it again.
    this.retryAt = this.bytes.length * 2;
  }

  /** Emit every complete record of `s`; returns where the unread rest starts. */
  private records(s: string, final: boolean, sink: CsvRecordSink): number {
    let at = 0;
    while (at < s.length) {
      const next = this.record(s, at, final, sink);
      if (next === MORE) break;
      at = next;
    }
    return at;
  }

  /** The text of s[from, to): decoded from the bytes when any is ≥ 0x80 (UTF-8 input). */
  private cell(s: string, from: number, to: number, high: boolean): string {
    return high && this.decoder === null ? this.bytes.toString('utf8', from, to) : s.slice(from, to);
  }

  /**
   * Is there a record delimiter at `i`? 1 = yes, 0 = no, MORE = cannot tell yet. Discovers the delimiter
   * on the first CR/LF asked about (CRLF before CR, as csv-parse does).
   */
  private delimiterAt(s: string, i: number, final: boolean): number {
    const c = s.charCodeAt(i);
    switch (this.delimiter) {
      case Delimiter.Lf:
        return c === LF ? 1 : 0;
      case Delimiter.Cr:
        return c === CR ? 1 : 0;
      case Delimiter.CrLf:
        if (c !== CR) return 0;
        if (i + 1 >= s.length) return final ? 0 : MORE;
        return s.charCodeAt(i + 1) === LF ? 1 : 0;
      case Delimiter.Unknown:
        if (c === LF) {
          this.delimiter = Delimiter.Lf;
          return 1;
        }
        if (c !== CR) return 0;
        if (i + 1 >= s.length && !final) return MORE;
        this.delimiter = s.charCodeAt(i + 1) === LF ? Delimiter.CrLf : Delimiter.Cr;
        return 1;
    }
  }

  /**
   * Read the record starting at `p`; emit it and return where the next one starts, or MORE when the text
   * ends first (and `final` is false). Throws CsvQuoteError when `final` and a quoted cell never closes.
   * One function on purpose: it runs for every record of the file, and its branches share the cell
   * state (position, prefix, quoting) that split-out steps would have to pass back and forth.
   */
  private record(s: string, p: number, final: boolean, sink: CsvRecordSink): number {
    const len = s.length;
    const cells: string[] = [];
    /** A CR or LF inside a cell: line counting must scan the record's text. */
    let inner = false;
    let pos = p;
    for (;;) {
      // One cell starts at `pos`.
      let prefix = '';
      let quoted = false;
      let from = pos;
      if (pos < len && s.charCodeAt(pos) === QUOTE) {
        quoted = true;
        let i = pos + 1;
        let value = '';
        for (;;) {
          const q = s.indexOf('"', i);
          if (q === -1) {
            if (!final) return MORE;
            throw this.quoteError(s, p);
          }
          const found = scan(s, i, q);
          if (found & BREAK) inner = true;
          if (q + 1 >= len && !final) return MORE;
          const n = q + 1 < len ? s.charCodeAt(q + 1) : -1;
          if (n === QUOTE) {
            // "" is one quote
            value += this.cell(s, i, q + 1, (found & HIGH) !== 0);
            i = q + 2;
            continue;
          }
          value += this.cell(s, i, q, (found & HIGH) !== 0);
          pos = q + 1;
          if (n === -1 || n === COMMA || n === 0) break;
          if (n === LF || n === CR) {
            const d = this.delimiterAt(s, q + 1, final);
            if (d === MORE) return MORE;
            if (d === 1) break;
          }
          // Not a closing quote: the cell goes on as text and keeps both quotes.
          value = `"${value}"`;
          break;
        }
        // A closed cell is followed by `,`, the record delimiter or the end (or NUL, which is read on
        // as text); a relaxed one by the text it runs on with. Both continue with the unquoted scan
        // below, which stops at once in the closed case.
        prefix = value;
        from = pos;
      }
      // Unquoted text (or the tail after a quoted part) up to `,`, the record delimiter or the end.
      let i = from;
      let ended = false;
      let bits = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        bits |= c;
        if (c === COMMA) break;
        if (c === LF || c === CR) {
          const d = this.delimiterAt(s, i, final);
          if (d === MORE) return MORE;
          if (d === 1) {
            ended = true;
            break;
          }
          inner = true;
        }
      }
      if (i >= len) {
        if (!final) return MORE;
        ended = true;
      }
      cells.push(i === from ? prefix : prefix + this.cell(s, from, i, bits > 0x7f));
      if (!ended) {
        pos = i + 1; // past the comma
        continue;
      }
      // End of record at `i` (a delimiter, or the end of the input).
      const atEnd = i >= len;
      const rawEnd = atEnd ? len : i + 1;
      const next = atEnd ? len : this.delimiter === Delimiter.CrLf ? i + 2 : i + 1;
      const line = this.breaks + 1;
      if (inner) {
        this.breaks += countLineBreaks(s, p, rawEnd);
        this.parserBreaks += countBreakChars(s, p, rawEnd);
      } else if (!atEnd) {
        this.breaks++;
        this.parserBreaks++;
      }
      sink(cells, line, cells.length === 1 && !quoted && cells[0] === '');
      return next;
    }
  }

  private quoteError(s: string, p: number): CsvQuoteError {
    const last = s.charCodeAt(s.length - 1);
    const trailing = last === CR || last === LF ? 1 : 0;
    return new CsvQuoteError(1 + this.parserBreaks + countBreakChars(s, p, s.length) - trailing);
  }
}

const BREAK = 1;
const HIGH = 2;

/** What s[from, to) holds: BREAK for a CR or LF, HIGH for a character ≥ 0x80. */
function scan(s: string, from: number, to: number): number {
  let found = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === LF || c === CR) found |= BREAK;
    else if (c > 0x7f) found |= HIGH;
  }
  return found;
}

/** Physical line breaks in s[from, to): CRLF, lone CR and lone LF each count once. */
function countLineBreaks(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === LF) n++;
    else if (c === CR) {
      n++;
      if (i + 1 < to && s.charCodeAt(i + 1) === LF) i++;
    }
  }
  return n;
}

/** CR and LF characters in s[from, to), each counted. */
function countBreakChars(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === LF || c === CR) n++;
  }
  return n;
}
