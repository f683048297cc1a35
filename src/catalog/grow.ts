/** A typed array that grows as values are pushed: `values[0 .. length)` holds them, `done()` a copy of exactly those. */
export class Grow<T extends Float64Array | Float32Array | Int32Array | Uint32Array | Int8Array | Uint8Array> {
  length = 0;
  constructor(public values: T) {}

  push(value: number): void {
    if (this.length === this.values.length) {
      const larger = new (this.values.constructor as new (length: number) => T)(this.values.length * 2);
      larger.set(this.values);
      this.values = larger;
    }
    this.values[this.length++] = value;
  }

  done(): T {
    return this.values.slice(0, this.length) as T;
  }
}
