/** A typed array that grows as values are pushed: `a[0 .. n)` holds them, `done()` a copy of exactly those. */
export class Grow<T extends Float64Array | Float32Array | Int32Array | Uint32Array | Int8Array | Uint8Array> {
  n = 0;
  constructor(public a: T) {}

  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new (this.a.constructor as new (n: number) => T)(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }

  done(): T {
    return this.a.slice(0, this.n) as T;
  }
}
