/**
 * The ingest's CSV tokenizer against csv-parse, the reference it replaced: with the options the ingest
 * used (`bom`, `relax_column_count`, `relax_quotes`) both must give the same records, the same physical
 * start line per record (computed the way the ingest did from csv-parse's raw text), the same blank-line
 * flag and the same error for broken quoting — on the real file and on generated CSVs, whatever the
 * chunking of the input.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvQuoteError, CsvTokenizer } from '../src/pipeline/csv-tokenizer.js';
import { decimalValue } from '../src/pipeline/decimal.js';
import { murmur3x86_128, rowHash } from '../src/pipeline/row-hash.js';
import type { StagedTrack } from '../src/warehouse/staging.js';
import { DATASET_PATH } from './helpers/dataset.js';

type Out = { records: [string[], number, boolean][]; error: string | null };

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

/** csv-parse with the ingest's former options, line numbers and blank-line rule. */
async function reference(chunks: Buffer[]): Promise<Out> {
  const records: Out['records'] = [];
  let linesBefore = 0;
  try {
    const parser = Readable.from(chunks).pipe(parse({ bom: true, raw: true, relax_column_count: true, relax_quotes: true }));
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const line = linesBefore + 1;
      linesBefore += countLineBreaks(raw);
      records.push([record, line, record.length === 1 && record[0] === '' && raw.trim() === '']);
    }
    return { records, error: null };
  } catch (err) {
    // In stream mode csv-parse drops records still buffered when it fails, so only the error compares.
    return { records: [], error: (err as Error).message };
  }
}

function tokenize(chunks: Buffer[]): Out {
  const records: Out['records'] = [];
  const tokenizer = new CsvTokenizer();
  const sink = (cells: string[], line: number, blank: boolean): void => void records.push([cells, line, blank]);
  try {
    for (const chunk of chunks) tokenizer.write(chunk, sink);
    tokenizer.end(sink);
    return { records, error: null };
  } catch (err) {
    expect(err).toBeInstanceOf(CsvQuoteError);
    return { records: [], error: (err as Error).message };
  }
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

/** Cells and separators that exercise every rule: quotes, doubled quotes, line breaks of all kinds. */
const token = fc.constantFrom(
  'a', 'bc', ' ', 'é', '🎤', 'NA', '12" Mix', ',', ',', ',', '"', '""', '"x"', '"a,b"', '"q""q"', '"line\nbreak"',
  '"cr\r\nlf"', '\n', '\n', '\r\n', '\r\n', '\r', '\t', '\0', '0.5', '-1', '',
);
const csvText = fc
  .tuple(fc.boolean(), fc.array(token, { maxLength: 60 }))
  .map(([bom, parts]) => (bom ? '\uFEFF' : '') + parts.join(''));

describe('CSV tokenizer = csv-parse (ingest options)', () => {
  it('the real TidyTuesday file: the same 32,834 records and lines, in any chunking', async () => {
    const bytes = readFileSync(DATASET_PATH);
    const expected = await reference([bytes]);
    expect(expected.error).toBeNull();
    expect(expected.records).toHaveLength(32_834);
    for (const size of [1_000_003, 65_536, 4_099]) {
      const chunks = split(bytes, Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => (i + 1) * size));
      expect(tokenize(chunks)).toEqual(expected);
    }
  });

  it('generated CSVs: quotes, doubled quotes, line breaks in cells, CRLF/CR/LF, BOM, empty and ragged rows', async () => {
    await fc.assert(
      fc.asyncProperty(csvText, fc.array(fc.nat(), { maxLength: 6 }), async (text, cuts) => {
        const bytes = Buffer.from(text);
        const expected = await reference([bytes]);
        expect(tokenize([bytes])).toEqual(expected);
        expect(tokenize(split(bytes, cuts))).toEqual(expected);
      }),
      { numRuns: 1_500 },
    );
  });

  it('arbitrary bytes (invalid UTF-8 too) decode cell by cell as csv-parse does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 80 }), fc.array(fc.nat(), { maxLength: 4 }), async (raw, cuts) => {
        // Bias towards structure: map some bytes onto the characters that matter.
        const bytes = Buffer.from(raw.map((b) => [44, 34, 10, 13][b % 7] ?? b));
        expect(tokenize(split(bytes, cuts))).toEqual(await reference([bytes]));
      }),
      { numRuns: 1_000 },
    );
  });

  it.each([
    ['unterminated quote at the end', 'h\n1,2\n"unterminated,1,2', 'at line 3'],
    ['unterminated quote spanning lines', 'h\n"abc\r\ndef\n', 'at line 4'],
    ['CRLF inside quotes counts twice in the message, as csv-parse counts', 'h\r\n"a\r\nb\r\nc', 'at line 6'],
  ])('broken quoting (%s) fails with csv-parse\'s message', async (_name, text, where) => {
    const bytes = Buffer.from(text);
    const ours = tokenize([bytes]);
    expect(ours.error).toBe((await reference([bytes])).error);
    expect(ours.error).toMatch(new RegExp(`^Quote Not Closed: the parsing is finished with an opening quote ${where}$`));
  });

  it('starts each record on its physical line: quoted line breaks and blank lines count, CRLF once', () => {
    const text = 'a,b\r\n"x\r\ny",2\r\n\r\n3,"p\nq\rr"\r\nlast,1';
    expect(tokenize([Buffer.from(text)]).records).toEqual([
      [['a', 'b'], 1, false],
      [['x\r\ny', '2'], 2, false],
      [[''], 4, true],
      [['3', 'p\nq\rr'], 5, false],
      [['last', '1'], 8, false],
    ]);
  });

  it('keeps stray quotes as text: inside an unquoted cell and after a closed quote', () => {
    expect(tokenize([Buffer.from('Blue Monday 12" Mix,"ab"cd,"x""y"\n')]).records).toEqual([
      [['Blue Monday 12" Mix', '"ab"cd', 'x"y'], 1, false],
    ]);
  });

  it('reads a UTF-16LE file (FF FE BOM) into the same records as csv-parse, with true line numbers', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,name\r\n1,"Beyoncé, 🎤"\r\n2,x\r\n', 'utf16le')]);
    const expected = await reference([bytes]);
    const ours = tokenize(split(bytes, [3, 7, 20]));
    expect(ours.records.map(([cells, , blank]) => [cells, blank])).toEqual(expected.records.map(([cells, , blank]) => [cells, blank]));
    expect(ours.records.map((r) => r[0])).toEqual([['id', 'name'], ['1', 'Beyoncé, 🎤'], ['2', 'x']]);
    // csv-parse's raw text lost half of each 2-byte delimiter here, so the former count said line 1 throughout.
    expect(ours.records.map((r) => r[1])).toEqual([1, 2, 3]);
  });

  it('an empty file or a lone BOM has no records', async () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n')]) {
      expect(tokenize([bytes])).toEqual(await reference([bytes]));
    }
    expect(tokenize([Buffer.alloc(0)]).records).toEqual([]);
  });
});

describe('number reading', () => {
  const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
  const reference = (s: string): number => (DECIMAL.test(s) ? Number(s) : NaN);

  it('reads exactly what DECIMAL + Number() read, to the last bit', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), maxLength: 20 });
    const numeric = fc
      .tuple(
        fc.constantFrom('', '+', '-'), digits, fc.constantFrom('', '.'), digits,
        fc.constantFrom('', 'e', 'E', 'e-', 'e+', 'E-'), fc.string({ unit: fc.constantFrom('0', '2', '3', '9'), maxLength: 4 }),
      )
      .map((parts) => parts.join(''));
    const anything = fc.oneof(numeric, fc.string({ maxLength: 8 }), fc.double().map(String));
    fc.assert(
      fc.property(anything, (s) => {
        const ours = decimalValue(s);
        const expected = reference(s);
        if (Number.isNaN(expected)) expect(ours).toBeNaN();
        else expect(Object.is(ours, expected)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    for (const s of ['0.748', '-2.634', '1.01e-06', '2.33e-5', '194754', '.5', '5.', '-0', '123456789012345678', '1e400', '1e-400']) {
      expect(Object.is(decimalValue(s), Number(s))).toBe(true);
    }
  });
});

describe('row hash', () => {
  it('is MurmurHash3 x86 128 (published vector: the bytes 0..255, seed 0)', () => {
    const bytes = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));
    expect(murmur3x86_128(new Int32Array(bytes.buffer), 64)).toBe('2c56c88fdb4503dfd352b21a494ca2c0');
    expect(murmur3x86_128(new Int32Array(0), 0)).toBe('00000000000000000000000000000000');
  });

  const base: StagedTrack = {
    row_key: 'id|pop||', source_schema: 'tidytuesday', source_file: 'a.csv', source_line: 2, track_id: 'id',
    track_name: 'Name', artist_names: 'Artist', artist_credits: 'Artist', album_id: null, album_name: 'Album', album_release_date: '2019',
    playlist_id: null, playlist_name: null, genre: 'pop', subgenre: null, popularity: 50, duration_ms: 200_000,
    explicit: null, danceability: 0.5, energy: 0.5, key: 1, loudness: -5, mode: 1, speechiness: 0.1,
    acousticness: 0.1, instrumentalness: 0, liveness: 0.1, valence: 0.5, tempo: 120, time_signature: null, row_hash: '',
  };

  it('changes with every mapped value (NULL vs empty vs "NA" too), not with the file or line', () => {
    const h = rowHash(base);
    expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(rowHash({ ...base, source_file: 'b.csv', source_line: 900, row_hash: 'x' })).toBe(h);
    const variants: Partial<StagedTrack>[] = [
      { track_name: null }, { track_name: '' }, { track_name: 'NA' }, { track_name: 'Name ' }, { track_name: 'Nämé' },
      { album_id: '' }, { explicit: true }, { explicit: false }, { energy: 0.51 }, { energy: null }, { key: 2 },
      { time_signature: 4 }, { popularity: 51 }, { source_schema: 'maharshipandya' },
      // moving text between adjacent columns must not collide
      { track_name: 'NameArtist', artist_names: null }, { track_name: 'Nam', artist_names: 'eArtist' },
    ];
    const hashes = variants.map((v) => rowHash({ ...base, ...v }));
    expect(new Set([h, ...hashes]).size).toBe(variants.length + 1);
  });
});
