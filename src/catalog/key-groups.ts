import { Grow } from './grow.js';
import { idHash } from './id-table.js';
import { loop, type Steps } from './slices.js';

/**
 * Rows grouped by a string key, held as typed arrays only: an open-addressing table of group ids (a power
 * of two at least twice the rows, linear probing, FNV-1a as id-table.ts), each group's 32-bit key hash,
 * and the rows of every group laid end to end in row order. The keys themselves are not kept: a lookup
 * whose hash matches a group recomputes the key of that group's first row (`keyOf`) and compares it, so a
 * hash collision can only miss, never answer another key. Name resolution's title index is three of these
 * over the catalog's tracks (resolve.ts): a few MiB instead of Maps of a string and an array per title.
 */
/** A KeyGroups as arrays: slots (group id or -1), each group's key hash, and its rows (`rows[start[g] .. start[g + 1])`). */
export interface KeyGroupsParts { slots: Int32Array; hashes: Uint32Array; start: Int32Array; rows: Int32Array }

export class KeyGroups {
  private readonly mask: number;

  private readonly slots: Int32Array;
  private readonly hashes: Uint32Array;
  /** Rows of group g: rows[start[g] .. start[g + 1]), ascending. */
  private readonly start: Int32Array;
  private readonly rows: Int32Array;

  /** Over the arrays KeyGroupsBuilder made (or a snapshot stored); throws when they do not fit together. */
  constructor(private readonly keyOf: (row: number) => string | null, private readonly p: KeyGroupsParts) {
    ({ slots: this.slots, hashes: this.hashes, start: this.start, rows: this.rows } = p);
    const n = this.slots.length;
    if (n === 0 || n & (n - 1) || n < 2 * this.hashes.length || this.start.length !== this.hashes.length + 1 || this.start[this.hashes.length] !== this.rows.length) {
      throw new Error(`key groups of ${this.hashes.length} keys, ${n} slots and ${this.rows.length} rows do not fit together`);
    }
    this.mask = n - 1;
  }

  /** The arrays, to store. */
  parts(): KeyGroupsParts {
    return this.p;
  }

  /** How many distinct keys. */
  get size(): number {
    return this.hashes.length;
  }

  /** The rows whose key is `key`, ascending; undefined when no row has it. */
  get(key: string): number[] | undefined {
    const g = this.groupOf(key);
    return g < 0 ? undefined : Array.from(this.rows.subarray(this.start[g]!, this.start[g + 1]!));
  }

  has(key: string): boolean {
    return this.groupOf(key) >= 0;
  }

  /** The first row of group g (groups are numbered in the order their first row came). */
  firstRow(g: number): number {
    return this.rows[this.start[g]!]!;
  }

  /** The key of group g, recomputed from its first row. */
  keyAt(g: number): string {
    return this.keyOf(this.firstRow(g))!;
  }

  /** Every key, in group order (recomputed one at a time). */
  *keys(): IterableIterator<string> {
    for (let g = 0; g < this.size; g++) yield this.keyAt(g);
  }

  private groupOf(key: string): number {
    const h = idHash(key);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const g = this.slots[s]!;
      if (g < 0) return -1;
      if (this.hashes[g] === h && this.keyOf(this.firstRow(g)) === key) return g;
    }
  }
}

/** Collects (row, key) pairs into groups without holding the keys. */
export class KeyGroupsBuilder {
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** First row of each group: a hash hit compares against its key, recomputed (no key is held). */
  private readonly firstRows = new Grow(new Int32Array(1024));
  private readonly hashes = new Grow(new Uint32Array(1024));
  /** Group of each row added, in the order added, and the row. */
  private readonly groupOfAdded = new Grow(new Int32Array(1024));
  private readonly rowOfAdded = new Grow(new Int32Array(1024));

  /** `keyOf(row)` gives back the key a row is added with (it confirms hash hits, in the build and in lookups). */
  constructor(rows: number, private readonly keyOf: (row: number) => string | null) {
    let size = 2;
    while (size < 2 * rows) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  /** Rows must come in ascending order, each at most once. */
  add(row: number, key: string): void {
    const h = idHash(key);
    let s = h & this.mask;
    let g: number;
    for (;;) {
      g = this.slots[s]!;
      if (g < 0) {
        g = this.hashes.length;
        this.firstRows.push(row);
        this.hashes.push(h);
        this.slots[s] = g;
        break;
      }
      if (this.hashes.values[g] === h && this.keyOf(this.firstRows.values[g]!) === key) break;
      s = (s + 1) & this.mask;
    }
    this.groupOfAdded.push(g);
    this.rowOfAdded.push(row);
  }

  /** The groups, made in steps (slices.ts). */
  *done(): Steps<KeyGroups> {
    const groups = this.hashes.length;
    const n = this.groupOfAdded.length;
    const groupOf = this.groupOfAdded.values;
    const rowOf = this.rowOfAdded.values;
    const start = new Int32Array(groups + 1);
    yield* loop(n, (p) => start[groupOf[p]! + 1]!++, 1 << 16);
    for (let g = 0; g < groups; g++) start[g + 1]! += start[g]!;
    yield;
    const fill = start.slice(0, groups);
    const rows = new Int32Array(n);
    yield* loop(n, (p) => (rows[fill[groupOf[p]!]!++] = rowOf[p]!), 1 << 16);
    return new KeyGroups(this.keyOf, { slots: this.slots, hashes: this.hashes.done(), start, rows });
  }
}
