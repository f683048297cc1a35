/** Decimal number cells: the form the CSV files write them in, and a fast reader of that form. */

/** A plain decimal, optionally signed, with an optional exponent: what a number cell may hold. */
export const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The value of a trimmed cell if it matches DECIMAL, else NaN; always the same value as `Number(raw)`.
 * Short decimals (≤ 15 digits, power of ten ≤ 22) take the exact fast path: an integer below 2^53 and
 * an exact power of ten give a correctly rounded result in one IEEE operation, as Number() does.
 */
export function decimalValue(raw: string): number {
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
