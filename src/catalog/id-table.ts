import type { Strings } from './segments.js';
import { loop, type Steps } from './slices.js';

/**
 * Track id → row, as an open-addressing hash table over the id column: one Int32Array of slots (row or
 * -1), a power of two at least twice the rows, linear probing, FNV-1a over the id's UTF-16 code units.
 * Publish computes the slots and stores them (segment `track_id.slots`), so a load maps them instead of
 * filling a `Map` of every id (≈ 0.9 s with its garbage collection at 1M tracks). A lookup compares the
 * id found in the slot, so slots that do not fit the ids can only miss, never answer another track.
 */
export class IdTable {
  private readonly mask: number;

  constructor(private readonly ids: Strings, private readonly slots: Int32Array) {
    if (slots.length < 2 * ids.length || slots.length & (slots.length - 1) || slots.length === 0) {
      throw new Error(`the id table holds ${slots.length} slots for ${ids.length} ids (a power of two, at least twice the ids)`);
    }
    this.mask = slots.length - 1;
  }

  get(id: string): number | undefined {
    for (let s = idHash(id) & this.mask; ; s = (s + 1) & this.mask) {
      const row = this.slots[s]!;
      if (row < 0) return undefined;
      if (this.ids.at(row) === id) return row;
    }
  }

  /** The slots for `ids` (a repeated id answers with its last row, as a Map filled in order would), built in steps. */
  static *slots(ids: Strings): Steps<Int32Array> {
    let size = 2;
    while (size < 2 * ids.length) size *= 2;
    const slots = new Int32Array(size).fill(-1);
    const mask = size - 1;
    yield* loop(ids.length, (row) => {
      const id = ids.at(row)!;
      let s = idHash(id) & mask;
      while (slots[s]! >= 0 && ids.at(slots[s]!) !== id) s = (s + 1) & mask;
      slots[s] = row;
    }, 4096);
    return slots;
  }

  /** Whether stored slots can serve `ids`: the right size, and every slot -1 or a row. */
  static fits(ids: Strings, slots: Int32Array): boolean {
    if (slots.length < 2 * ids.length || slots.length & (slots.length - 1) || slots.length === 0) return false;
    for (let s = 0; s < slots.length; s++) if (slots[s]! < -1 || slots[s]! >= ids.length) return false;
    return true;
  }
}

/** FNV-1a, 32 bits, over UTF-16 code units. */
export function idHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
