/**
 * A numeric column of the track table, read with `at(i)` (NaN where the dataset has no value). A column
 * whose values all have at most DECIMALS_MAX decimal places, within the range of an `Int32Array` once
 * scaled, is held as those decimal digits (`value = digits / 10^decimals`), half the bytes of `f64`: at
 * 1M tracks the fifteen columns take 57 MiB instead of 114. The division of two exactly represented
 * integers is correctly rounded, so `at` gives back the very double that was stored (the one nearest the
 * decimal); `of` checks that for every value and keeps `f64` otherwise. Spotify's audio features carry at
 * most a few significant digits (0.676, -6.746, 1.01e-06), and the integer-valued columns need none.
 */

/** The most decimal places a column is held with as digits (10^9 × 1.0 still fits an Int32Array). */
export const DECIMALS_MAX = 9;
/** The digits standing for a missing value (NaN): no value is encoded as it. */
export const MISSING = -0x8000_0000;
const POW10 = Array.from({ length: DECIMALS_MAX + 1 }, (_, s) => 10 ** s);

export class NumberColumn {
  readonly length: number;
  /** 10^decimals (digits only). */
  private readonly scale: number;

  private constructor(
    /** The values as `f64`, or null when held as digits. */
    readonly float: Float64Array | null,
    /** The values' decimal digits, or null when held as `f64`. */
    readonly digits: Int32Array | null,
    /** Decimal places of `digits` (0 for `f64`). */
    readonly decimals: number,
  ) {
    this.length = (float ?? digits)!.length;
    this.scale = POW10[decimals]!;
  }

  /** A column over stored `f64` values, as they are. */
  static ofFloats(values: Float64Array): NumberColumn {
    return new NumberColumn(values, null, 0);
  }

  /** A column over stored decimal digits (MISSING: no value). */
  static ofDigits(digits: Int32Array, decimals: number): NumberColumn {
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > DECIMALS_MAX) throw new Error(`a decimal column of ${decimals} places (0–${DECIMALS_MAX} are read)`);
    return new NumberColumn(null, digits, decimals);
  }

  /** The values held as decimal digits when every one of them comes back exactly, else as `f64`. */
  static of(values: Float64Array): NumberColumn {
    const decimals = fewestDecimals(values);
    if (decimals < 0) return NumberColumn.ofFloats(values);
    const scale = POW10[decimals]!;
    const digits = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) {
        digits[i] = MISSING;
        continue;
      }
      const d = Math.round(v * scale);
      // Checked again whole: a value that does not come back exactly keeps the column in f64.
      if (!(d > MISSING && d <= 0x7fff_ffff) || d / scale !== v) return NumberColumn.ofFloats(values);
      digits[i] = d;
    }
    return new NumberColumn(null, digits, decimals);
  }

  /** Row i's value (NaN: none). */
  at(i: number): number {
    const d = this.digits;
    if (d === null) return this.float![i]!;
    const v = d[i]!;
    return v === MISSING ? NaN : v / this.scale;
  }

  /** Every value as `f64` (a copy). */
  toFloats(): Float64Array {
    if (this.float) return this.float.slice();
    const out = new Float64Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.at(i);
    return out;
  }
}

/**
 * The fewest decimal places (0–DECIMALS_MAX) every value of `values` is written with, or -1 when some
 * value needs more (or is infinite). NaN counts as missing.
 */
function fewestDecimals(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) continue;
    while (Math.round(v * POW10[s]!) / POW10[s]! !== v) if (++s > DECIMALS_MAX) return -1;
  }
  return s;
}
