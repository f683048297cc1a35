/**
 * PostgreSQL COPY formats without a server: the binary encoder's bytes (the layout PostgreSQL documents
 * for `FORMAT binary`), what it refuses, and the text-format cell decoder the staging reader uses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  decodeCopyTextCell,
  encodeCopyBinary,
  encodeTrackRows,
  fromCopyText,
} from '../src/warehouse/pg-copy.js';
import { TRACK_COLUMNS, type StagedTrack } from '../src/warehouse/staging.js';

describe('COPY binary layout', () => {
  it('frames a stream with the PGCOPY signature, zero flags and the -1 field-count trailer', () => {
    expect(COPY_BINARY_HEADER.toString('hex')).toBe(Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').toString('hex') + '00'.repeat(8));
    expect(COPY_BINARY_TRAILER.toString('hex')).toBe('ffff');
  });

  it('writes each cell as a big-endian length then its value, NULL as length -1', () => {
    const cols = [
      { name: 's', type: 'VARCHAR' },
      { name: 'i', type: 'INTEGER' },
      { name: 'd', type: 'DOUBLE' },
      { name: 'b', type: 'BOOLEAN' },
      { name: 't', type: 'TIMESTAMP' },
    ] as const;
    const bytes = encodeCopyBinary([{ s: 'é', i: -2, d: 1.5, b: true, t: null }], cols, new Date('2000-01-01T00:00:00.001Z'));
    const expected = [
      '0006', // six fields: five columns and the trailing timestamp
      '00000002c3a9', // 'é' in UTF-8
      '00000004fffffffe', // -2 as int4
      '000000083ff8000000000000', // 1.5 as float8
      '0000000101', // true
      'ffffffff', // NULL
      '0000000800000000000003e8', // 1 ms after PostgreSQL's epoch, in microseconds
    ].join('');
    expect(bytes.toString('hex')).toBe(expected);
  });
});

describe('COPY formats', () => {
  it('reads text-format cells back: escapes, \\N as NULL, octal and hex escapes', () => {
    expect(decodeCopyTextCell('a\\tb\\nc\\rd\\\\e')).toBe('a\tb\nc\rd\\e');
    expect(decodeCopyTextCell('\\N')).toBeNull();
    expect(decodeCopyTextCell('\\\\N')).toBe('\\N');
    expect(decodeCopyTextCell('\\101\\x42')).toBe('AB');
  });

  it('the field-by-field track encoder writes the same bytes as the generic one', () => {
    const text = fc.option(fc.string({ unit: 'binary', maxLength: 12 }).filter((x) => !x.includes('\0')));
    const int = fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    const dbl = fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }));
    const track = fc.record({
      row_key: fc.string(), source_schema: fc.constantFrom('tidytuesday' as const, 'maharshipandya' as const),
      source_file: fc.string(), source_line: fc.nat(), track_id: fc.string(), track_name: text, artist_names: text, artist_credits: text,
      album_id: text, album_name: text, album_release_date: text, playlist_id: text, playlist_name: text,
      genre: fc.string(), subgenre: text, popularity: int, duration_ms: int, explicit: fc.option(fc.boolean()),
      danceability: dbl, energy: dbl, key: int, loudness: dbl, mode: int, speechiness: dbl, acousticness: dbl,
      instrumentalness: dbl, liveness: dbl, valence: dbl, tempo: dbl, time_signature: int, row_hash: fc.string(),
    });
    fc.assert(
      fc.property(fc.array(track, { maxLength: 20 }), fc.boolean(), (rows: StagedTrack[], stamped) => {
        const at = stamped ? new Date('2026-11-24T12:34:56.789Z') : undefined;
        expect(encodeTrackRows(rows, at).equals(encodeCopyBinary(rows, TRACK_COLUMNS, at))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what PostgreSQL cannot store, naming the problem', () => {
    const cols = [{ name: 's', type: 'VARCHAR' }, { name: 'i', type: 'INTEGER' }, { name: 'd', type: 'DOUBLE' }] as const;
    expect(() => encodeCopyBinary([{ s: 'nul\0byte', i: 1, d: 1 }], cols)).toThrow(/NUL character/);
    expect(() => encodeCopyBinary([{ s: 'é\0', i: 1, d: 1 }], cols)).toThrow(/NUL character/);
    expect(() => encodeCopyBinary([{ s: 'x', i: 2 ** 31, d: 1 }], cols)).toThrow(/not a 32-bit integer/);
    expect(() => encodeCopyBinary([{ s: 'x', i: 1, d: Infinity }], cols)).toThrow(/non-finite/);
  });
});

describe('COPY text cells read back as staging values', () => {
  it('types each cell by its column: numbers, t/f booleans, epoch-millisecond timestamps, NULL', () => {
    expect(fromCopyText('a\\tb', 'VARCHAR')).toBe('a\tb');
    expect(fromCopyText('42', 'INTEGER')).toBe(42);
    expect(fromCopyText('-0.5', 'DOUBLE')).toBe(-0.5);
    expect(fromCopyText('t', 'BOOLEAN')).toBe(true);
    expect(fromCopyText('f', 'BOOLEAN')).toBe(false);
    expect(fromCopyText('1700000000000', 'TIMESTAMP')).toEqual(new Date(1_700_000_000_000));
    expect(fromCopyText('\\N', 'INTEGER')).toBeNull();
  });
});
