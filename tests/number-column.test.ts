import { describe, expect, it } from 'vitest';
import { MISSING, NumberColumn } from '../src/catalog/number-column.js';
import { SegmentReader, SegmentWriter } from '../src/catalog/segments.js';

/** Every value of `c` as read, for comparison with what went in (NaN compares equal to NaN in toEqual). */
const values = (c: NumberColumn) => Array.from({ length: c.length }, (_, i) => c.at(i));

describe('numeric track columns (number-column.ts)', () => {
  it('holds the dataset\'s kinds of values as decimal digits and gives back the very same doubles', () => {
    // Audio features as Spotify writes them, an integer column, a missing value, negatives, a tiny share.
    const cases: [number[], number][] = [
      [[0.676, 0.0322, 1, 0, NaN, 0.999], 4],
      [[-6.746, -49.531, 1.275, NaN], 3],
      [[1.01e-6, 0.976, 0.000123], 8],
      [[87.917, 243.372, 0], 3],
      [[5_237_295, 30_000, NaN, 215_000], 0],
      [[-1, 0, 11, 4, 5], 0],
    ];
    for (const [input, decimals] of cases) {
      const c = NumberColumn.of(Float64Array.from(input));
      expect(c.digits, String(input)).not.toBeNull();
      expect(c.decimals).toBe(decimals);
      expect(values(c)).toEqual(input);
      values(c).forEach((v, i) => expect(Object.is(v, input[i]) || (Number.isNaN(v) && Number.isNaN(input[i]))).toBe(true));
    }
  });

  it('keeps f64 for a column some value of which would not come back exactly, and reads it unchanged', () => {
    for (const input of [[0.5, 0.1 + 0.2], [Math.PI, 1], [3e9, 1], [-(2 ** 31), 0], [Infinity, 1], [1e-10, 0.5]]) {
      const c = NumberColumn.of(Float64Array.from(input));
      expect(c.digits, String(input)).toBeNull();
      expect(values(c)).toEqual(input);
    }
    expect(MISSING).toBe(-(2 ** 31));
  });

  it('is stored as i32 digits with its decimal places, and a stored f64 column (format 2) reads as before', () => {
    const w = new SegmentWriter();
    w.numberColumn('energy', NumberColumn.of(Float64Array.from([0.676, NaN, 0.5])));
    w.numberColumn('odd', NumberColumn.of(Float64Array.from([Math.E, 2])));
    w.numbers('old', Float64Array.from([0.25, NaN]));
    expect(w.entries.map(({ name, type, decimals }) => ({ name, type, decimals }))).toEqual([
      { name: 'energy', type: 'i32', decimals: 3 }, { name: 'odd', type: 'f64', decimals: undefined }, { name: 'old', type: 'f64', decimals: undefined },
    ]);
    const bytes = Buffer.concat(w.chunks);
    const r = new SegmentReader(bytes, w.entries);
    expect(values(r.numberColumn('energy'))).toEqual([0.676, NaN, 0.5]);
    expect(values(r.numberColumn('odd'))).toEqual([Math.E, 2]);
    expect(values(r.numberColumn('old'))).toEqual([0.25, NaN]);
    expect(() => NumberColumn.ofDigits(new Int32Array(1), 12)).toThrow(/12 places/);
  });
});
