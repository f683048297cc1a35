/**
 * `row_hash` of a staged track: detects changed rows so a rerun rewrites only those (see the upserts in
 * src/warehouse/staging.ts and postgres-staging.ts). Both staging paths get it from the ingest, so they
 * always agree.
 *
 * Format: MurmurHash3 x86 128-bit (seed 0) of the row's mapped values, as 32 hex digits. The values
 * are the staged columns except provenance (source_file/source_line: a moved row is not a changed
 * one) and row_key (made of track_id/genre/subgenre/playlist_id, which are hashed themselves), in
 * column order, written as 32-bit words: NULL → 0; text → 1, its length in UTF-16 units, then the
 * units two per word (the first in the low half; an odd last unit alone); number → 2, then its
 * IEEE-754 double (low 32 bits first); false → 3; true → 4. Tags and lengths make the encoding
 * unambiguous, so two different rows only share a hash by a 128-bit collision. The same on every
 * host. Not a cryptographic hash: it guards against accidental change, not tampering.
 *
 * `artist_credits` (the credits as split at ingest) joined the values later: rows staged before it
 * count as changed once, and are rewritten with it.
 *
 * Staging rows hashed in another format (earlier releases stored a 64-digit SHA-256 of the values as a
 * JSON array) all count as changed once: the first load after an upgrade rewrites each row with a new
 * loaded_at, and loads after that find them unchanged again.
 */
import { overStagedFeatures } from '../features.js';
import type { StagedTrack } from '../warehouse/staging.js';

const TEXT = 1;
const NUMBER = 2;

/** The encoding of the current row as 32-bit words. */
let words = new Int32Array(1_024);
let used = 0;
const double = new Float64Array(1);
/** The double's two words in host byte order; LOW/HIGH pick its low and high 32 bits on any host. */
const doubleWords = new Int32Array(double.buffer);
const LOW = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;

function reserve(n: number): void {
  if (used + n <= words.length) return;
  const bigger = new Int32Array(Math.max(words.length * 2, used + n));
  bigger.set(words.subarray(0, used));
  words = bigger;
}

function text(v: string | null): void {
  const n = v === null ? 0 : v.length;
  reserve((n >> 1) + 3);
  const w = words;
  let at = used;
  if (v === null) {
    w[at++] = 0;
  } else {
    w[at++] = TEXT;
    w[at++] = n;
    let i = 0;
    for (; i + 1 < n; i += 2) w[at++] = v.charCodeAt(i) | (v.charCodeAt(i + 1) << 16);
    if (i < n) w[at++] = v.charCodeAt(i);
  }
  used = at;
}

function number(v: number | null): void {
  reserve(3);
  if (v === null) {
    words[used++] = 0;
    return;
  }
  double[0] = v;
  words[used] = NUMBER;
  words[used + 1] = doubleWords[LOW]!;
  words[used + 2] = doubleWords[HIGH]!;
  used += 3;
}

function boolean(v: boolean | null): void {
  reserve(1);
  words[used++] = v === null ? 0 : v ? 4 : 3;
}

/** `number(row.<feature>)` for the feature block of the staged row (src/features.ts), in column order. */
const hashFeatureBlock = overStagedFeatures<(row: StagedTrack, add: typeof number) => void>(['row', 'add'], (f) => `add(row.${f.name});`);

export function rowHash(row: StagedTrack): string {
  used = 0;
  text(row.source_schema);
  text(row.track_id);
  text(row.track_name);
  text(row.artist_names);
  text(row.artist_credits);
  text(row.album_id);
  text(row.album_name);
  text(row.album_release_date);
  text(row.playlist_id);
  text(row.playlist_name);
  text(row.genre);
  text(row.subgenre);
  number(row.popularity);
  number(row.duration_ms);
  boolean(row.explicit);
  hashFeatureBlock(row, number);
  number(row.time_signature);
  return murmur3x86_128(words, used);
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789 | 0;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93 | 0;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b | 0);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35 | 0);
  return h ^ (h >>> 16);
}

/** Two hex digits per byte value (Number#toString(16) is slow for words above 2^30). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const hex = (h: number): string => HEX[h >>> 24]! + HEX[(h >>> 16) & 0xff]! + HEX[(h >>> 8) & 0xff]! + HEX[h & 0xff]!;

/**
 * MurmurHash3_x86_128 with seed 0 over the first `count` words of `w`, read as 4·count little-endian
 * bytes, rendered as h1‖h2‖h3‖h4, each as 8 hex digits.
 */
export function murmur3x86_128(w: Int32Array, count: number): string {
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    // rotl(x, r) written out as (x << r) | (x >>> (32 - r)): this loop runs for every staged row.
    let k = Math.imul(w[i]!, C1);
    k = Math.imul((k << 15) | (k >>> 17), C2);
    h1 ^= k;
    h1 = (Math.imul((((h1 << 19) | (h1 >>> 13)) + h2) | 0, 5) + 0x561ccd1b) | 0;
    k = Math.imul(w[i + 1]!, C2);
    k = Math.imul((k << 16) | (k >>> 16), C3);
    h2 ^= k;
    h2 = (Math.imul((((h2 << 17) | (h2 >>> 15)) + h3) | 0, 5) + 0x0bcaa747) | 0;
    k = Math.imul(w[i + 2]!, C3);
    k = Math.imul((k << 17) | (k >>> 15), C4);
    h3 ^= k;
    h3 = (Math.imul((((h3 << 15) | (h3 >>> 17)) + h4) | 0, 5) + (0x96cd1c35 | 0)) | 0;
    k = Math.imul(w[i + 3]!, C4);
    k = Math.imul((k << 18) | (k >>> 14), C1);
    h4 ^= k;
    h4 = (Math.imul((((h4 << 13) | (h4 >>> 19)) + h1) | 0, 5) + 0x32ac3b17) | 0;
  }
  // Tail: 0–3 whole words (the byte length is always a multiple of 4).
  const rest = count - i;
  if (rest >= 3) h3 ^= Math.imul(rotl(Math.imul(w[i + 2]!, C3), 17), C4);
  if (rest >= 2) h2 ^= Math.imul(rotl(Math.imul(w[i + 1]!, C2), 16), C3);
  if (rest >= 1) h1 ^= Math.imul(rotl(Math.imul(w[i]!, C1), 15), C2);

  const bytes = count * 4;
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  return hex(h1) + hex(h2) + hex(h3) + hex(h4);
}
