/**
 * Exact nearest-neighbour search in the learned metric space: a k-d tree over the track vectors,
 * searched best-first with a bound per node, so similar_tracks scores only the part of the catalog
 * that can still reach its shortlist instead of every track. The bound is conservative (never above
 * a real score), so the shortlist is exactly the one an exhaustive scan returns.
 */

import { runNow, type Steps } from './slices.js';

/**
 * Mean Gaussian kernel between the row of `dims` values at `rows[rowStart…rowStart+dims)` and each anchor:
 * mean over anchors of exp(−‖row − anchor‖² · inv[a] / rowScale), where inv[a] is the anchor's own
 * inverse width and rowScale the row's local scale (1 for the plain metric). The hot loop of every
 * similarity ranking.
 */
export function anchorKernel(rows: ArrayLike<number>, rowStart: number, dims: number, anchors: readonly ArrayLike<number>[], inv: ArrayLike<number>, rowScale = 1): number {
  let sum = 0;
  for (let a = 0; a < anchors.length; a++) {
    const anchor = anchors[a]!;
    let d2 = 0;
    for (let c = 0; c < dims; c++) {
      const x = rows[rowStart + c]! - anchor[c]!;
      d2 += x * x;
    }
    sum += Math.exp((-d2 * inv[a]!) / rowScale);
  }
  return sum / anchors.length;
}

/**
 * The k best of a stream of (track, score) pairs: highest score first, ties to the lower track id.
 * Backed by a min-heap of typed arrays; reusable across calls (reset()).
 */
export class TopK {
  private heapTrack: Int32Array;
  private heapScore: Float64Array;
  private count = 0;
  private capacity = 0;

  constructor(private readonly tieKey: (i: number) => string | number, initialCapacity = 256) {
    this.heapTrack = new Int32Array(initialCapacity);
    this.heapScore = new Float64Array(initialCapacity);
  }

  reset(k: number): this {
    if (k > this.heapTrack.length) {
      this.heapTrack = new Int32Array(k);
      this.heapScore = new Float64Array(k);
    }
    this.capacity = k;
    this.count = 0;
    return this;
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Score of the worst kept entry (-Infinity while not full). */
  get floor(): number {
    return this.count >= this.capacity ? this.heapScore[0]! : -Infinity;
  }

  /** Whether (ia, sa) ranks below (ib, sb). */
  private worse(ia: number, sa: number, ib: number, sb: number): boolean {
    return sa < sb || (sa === sb && this.tieKey(ia) > this.tieKey(ib));
  }

  offer(i: number, s: number): void {
    const { heapTrack, heapScore } = this;
    if (this.count < this.capacity) {
      let j = this.count++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!this.worse(i, s, heapTrack[p]!, heapScore[p]!)) break;
        heapTrack[j] = heapTrack[p]!;
        heapScore[j] = heapScore[p]!;
        j = p;
      }
      heapTrack[j] = i;
      heapScore[j] = s;
      return;
    }
    if (this.capacity === 0 || s < heapScore[0]! || !this.worse(heapTrack[0]!, heapScore[0]!, i, s)) return;
    // Replace the root and sift down.
    const n = this.count;
    let j = 0;
    for (;;) {
      const l = 2 * j + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && this.worse(heapTrack[r]!, heapScore[r]!, heapTrack[l]!, heapScore[l]!)) m = r;
      if (!this.worse(heapTrack[m]!, heapScore[m]!, i, s)) break;
      heapTrack[j] = heapTrack[m]!;
      heapScore[j] = heapScore[m]!;
      j = m;
    }
    heapTrack[j] = i;
    heapScore[j] = s;
  }

  /** The kept entries, best first. */
  sorted(): { indexes: Int32Array; scores: Float64Array } {
    const order = Array.from({ length: this.count }, (_, j) => j);
    const { heapTrack, heapScore } = this;
    order.sort((a, b) => (this.worse(heapTrack[a]!, heapScore[a]!, heapTrack[b]!, heapScore[b]!) ? 1 : this.worse(heapTrack[b]!, heapScore[b]!, heapTrack[a]!, heapScore[a]!) ? -1 : 0));
    const indexes = new Int32Array(this.count);
    const scores = new Float64Array(this.count);
    order.forEach((j, p) => {
      indexes[p] = heapTrack[j]!;
      scores[p] = heapScore[j]!;
    });
    return { indexes, scores };
  }
}

/** Most rows a leaf holds (a node with more is split). */
export const LEAF = 48;

/** Everything a KdTree is made of; typed arrays only, so a snapshot stores and maps them as they are. */
export interface KdTreeParts {
  dims: number;
  rows: Float32Array;
  order: Int32Array;
  rowOf: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
  child: Int32Array;
  boxMin: Float32Array;
  boxMax: Float32Array;
  /**
   * Local scale of each row (tree order): a row's squared distances are divided by it, so tracks in dense
   * regions (small scale) stop being everyone's nearest neighbour. Absent or all 1: the plain metric.
   */
  localScale?: Float32Array | undefined;
}

/** A k-d tree over n vectors of `dims` float32 components (row-major). */
export class KdTree {
  readonly dims: number;
  /** The vectors in tree order: row r is track order[r]. */
  readonly rows: Float32Array;
  readonly order: Int32Array;
  /** Row of each track in `rows`. */
  readonly rowOf: Int32Array;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  /** Child nodes (left at 2·node slot, right at 2·node+1); -1 for a leaf. */
  private readonly child: Int32Array;
  private readonly boxMin: Float32Array;
  private readonly boxMax: Float32Array;
  private readonly nodes: number;
  /** Local scale per row (tree order; see KdTreeParts), and its largest value per node (the search bound). */
  readonly localScale: Float32Array;
  private readonly nodeScale: Float32Array;
  /** Centre (mean) of each leaf's vectors, and each row's distance from its leaf's centre, rounded up (row bound). */
  private readonly leafCentre: Float64Array;
  private readonly rowRadius: Float64Array;
  // Search scratch, reused across queries.
  private queue: Int32Array;
  private queueKey: Float64Array;

  constructor(vectors: Float32Array, n: number, dims: number, leaf = LEAF) {
    this.dims = dims;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const cap = 4 * Math.ceil(n / leaf) + 8;
    const lo = new Int32Array(cap);
    const hi = new Int32Array(cap);
    const child = new Int32Array(2 * cap).fill(-1);
    const boxMin = new Float32Array(cap * dims);
    const boxMax = new Float32Array(cap * dims);
    let count = 1;
    lo[0] = 0;
    hi[0] = n;
    const stack = [0];
    while (stack.length) {
      const node = stack.pop()!;
      const a = lo[node]!;
      const b = hi[node]!;
      // Bounding box of the node's vectors.
      for (let c = 0; c < dims; c++) {
        boxMin[node * dims + c] = Infinity;
        boxMax[node * dims + c] = -Infinity;
      }
      for (let p = a; p < b; p++) {
        const vectorStart = order[p]! * dims;
        for (let c = 0; c < dims; c++) {
          const v = vectors[vectorStart + c]!;
          if (v < boxMin[node * dims + c]!) boxMin[node * dims + c] = v;
          if (v > boxMax[node * dims + c]!) boxMax[node * dims + c] = v;
        }
      }
      if (b - a <= leaf) continue;
      let dim = 0;
      let spread = -1;
      for (let c = 0; c < dims; c++) {
        const s = boxMax[node * dims + c]! - boxMin[node * dims + c]!;
        if (s > spread) {
          spread = s;
          dim = c;
        }
      }
      if (spread <= 0) continue; // identical vectors: keep as one leaf
      const mid = (a + b) >> 1;
      select(order, a, b - 1, mid, (t) => vectors[t * dims + dim]!);
      const l = count++;
      const r = count++;
      lo[l] = a;
      hi[l] = mid;
      lo[r] = mid;
      hi[r] = b;
      child[2 * node] = l;
      child[2 * node + 1] = r;
      stack.push(r, l);
    }
    this.nodes = count;
    this.lo = lo.slice(0, count);
    this.hi = hi.slice(0, count);
    this.child = child.slice(0, 2 * count);
    this.boxMin = boxMin.slice(0, count * dims);
    this.boxMax = boxMax.slice(0, count * dims);
    this.order = order;
    this.rows = new Float32Array(n * dims);
    this.rowOf = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const i = order[r]!;
      this.rowOf[i] = r;
      this.rows.set(vectors.subarray(i * dims, i * dims + dims), r * dims);
    }
    this.queue = new Int32Array(64);
    this.queueKey = new Float64Array(64);
    this.localScale = new Float32Array(n).fill(1);
    ({ nodeScale: this.nodeScale, leafCentre: this.leafCentre, rowRadius: this.rowRadius } = runNow(derivedSteps({ ...this.parts(), localScale: this.localScale })));
  }

  /** The tree's arrays, as a snapshot stores them (see fromParts). */
  parts(): KdTreeParts {
    const { dims, rows, order, rowOf, lo, hi, child, boxMin, boxMax, localScale } = this;
    return { dims, rows, order, rowOf, lo, hi, child, boxMin, boxMax, localScale };
  }

  /** The same tree with a local scale per track (by track index, positive); searches then rank by scaled distance. */
  withLocalScale(byTrack: ArrayLike<number>): KdTree {
    const localScale = new Float32Array(this.order.length);
    for (let r = 0; r < localScale.length; r++) localScale[r] = byTrack[this.order[r]!]!;
    return KdTree.fromParts({ ...this.parts(), localScale });
  }

  /**
   * The mean Euclidean distance from each track to its `k` nearest tracks for which `other(i, j)` holds
   * (by track index): the density around it, the base of its local scale.
   */
  meanNearestDistance(k: number, other: (i: number, j: number) => boolean): Float64Array {
    const out = new Float64Array(this.order.length);
    this.nearestEach(k, other, false, (i, _j, d2, m) => (out[i]! += Math.sqrt(d2) / m));
    return out;
  }

  /**
   * How many tracks have each track among their `k` nearest by the locally scaled distance (d² / s_j),
   * among the tracks for which `other(i, j)` holds: its k-occurrence N_k, high for a "hub".
   */
  kOccurrence(k: number, other: (i: number, j: number) => boolean): Int32Array {
    const out = new Int32Array(this.order.length);
    this.nearestEach(k, other, true, (_i, j) => out[j]!++);
    return out;
  }

  /**
   * For each track i, its `k` nearest tracks j with `other(i, j)` by d² (or by d² / s_j when `scaled`),
   * each passed to `visit(i, j, d², found)`. Exact: a depth-first descent, nearer child first, that skips
   * every node whose box lies farther than the k-th key found so far, and in a leaf every row whose bound
   * from the leaf's centre (see scanLeaf) does.
   */
  nearestEach(k: number, other: (i: number, j: number) => boolean, scaled: boolean, visit: (i: number, j: number, d2: number, found: number) => void): void {
    const n = this.order.length;
    const dims = this.dims;
    const { rows, order, lo, hi, child, boxMin, boxMax, localScale, nodeScale, leafCentre, rowRadius } = this;
    const best = new Float64Array(k + 1); // ascending keys, `found` of them kept
    const bestP = new Int32Array(k + 1);
    const bestD = new Float64Array(k + 1);
    // Two entries per level of a balanced tree (median splits): far below 2 · 64.
    const stack = new Int32Array(128);
    const stackGap = new Float64Array(128);
    const gap = (node: number, rowStart: number): number => {
      let d = 0;
      for (let c = 0; c < dims; c++) {
        const x = rows[rowStart + c]!;
        const mn = boxMin[node * dims + c]!;
        const mx = boxMax[node * dims + c]!;
        const g = x < mn ? mn - x : x > mx ? x - mx : 0;
        d += g * g;
      }
      return scaled ? d / nodeScale[node]! : d;
    };
    // Rows in tree order, so consecutive queries touch the same nodes and rows.
    for (let r = 0; r < n; r++) {
      const i = order[r]!;
      const rowStart = r * dims;
      let found = 0;
      let stackSize = 0;
      stack[stackSize] = 0;
      stackGap[stackSize++] = 0;
      while (stackSize > 0) {
        const node = stack[--stackSize]!;
        if (found === k && stackGap[stackSize]! > best[k - 1]!) continue;
        const l = child[2 * node]!;
        if (l >= 0) {
          const r = child[2 * node + 1]!;
          const gl = gap(l, rowStart);
          const gr = gap(r, rowStart);
          // Push the farther child first so the nearer one is searched first.
          const lFirst = gl <= gr;
          stack[stackSize] = lFirst ? r : l;
          stackGap[stackSize++] = lFirst ? gr : gl;
          stack[stackSize] = lFirst ? l : r;
          stackGap[stackSize++] = lFirst ? gl : gr;
          continue;
        }
        // Row bound, as in scanLeaf: a row lies at least (distance to the leaf's centre − its radius) away.
        let c2 = 0;
        for (let c = 0, q = node * dims; c < dims; c++) {
          const x = rows[rowStart + c]! - leafCentre[q + c]!;
          c2 += x * x;
        }
        const toCentre = Math.sqrt(c2) * (1 - 1e-9);
        for (let p = lo[node]!, end = hi[node]!; p < end; p++) {
          if (found === k) {
            const t = toCentre - rowRadius[p]!;
            if (t > 0 && t * t > best[k - 1]! * (scaled ? localScale[p]! : 1)) continue;
          }
          const j = order[p]!;
          if (j === i || !other(i, j)) continue;
          let d = 0;
          for (let c = 0, q = p * dims; c < dims; c++) {
            const x = rows[rowStart + c]! - rows[q + c]!;
            d += x * x;
          }
          const key = scaled ? d / localScale[p]! : d;
          if (found === k && key >= best[k - 1]!) continue;
          let q = found < k ? found++ : k - 1;
          while (q > 0 && best[q - 1]! > key) {
            best[q] = best[q - 1]!;
            bestP[q] = bestP[q - 1]!;
            bestD[q] = bestD[q - 1]!;
            q--;
          }
          best[q] = key;
          bestP[q] = p;
          bestD[q] = d;
        }
      }
      for (let q = 0; q < found; q++) visit(i, order[bestP[q]!]!, bestD[q]!, found);
    }
  }

  /** A tree from the arrays `parts()` gave, without rebuilding it. Throws when they do not fit together. */
  static fromParts(parts: KdTreeParts): KdTree {
    return runNow(KdTree.fromPartsSteps(parts));
  }

  /** fromParts as steps (slices.ts): the derived arrays are computed a few hundred nodes a step. */
  static *fromPartsSteps(parts: KdTreeParts): Steps<KdTree> {
    const n = parts.order.length;
    const nodes = parts.lo.length;
    if (parts.rows.length !== n * parts.dims || parts.rowOf.length !== n || parts.hi.length !== nodes || parts.child.length !== 2 * nodes
      || parts.boxMin.length !== nodes * parts.dims || parts.boxMax.length !== nodes * parts.dims) {
      throw new Error(`k-d tree arrays do not fit together (${n} rows of ${parts.dims}, ${nodes} nodes)`);
    }
    const localScale = parts.localScale ?? new Float32Array(n).fill(1);
    if (localScale.length !== n) throw new Error(`k-d tree local scales (${localScale.length}) do not fit its ${n} rows`);
    const made = yield* derivedSteps({ ...parts, localScale });
    const tree = Object.create(KdTree.prototype) as KdTree;
    Object.assign(tree, { ...parts, localScale, ...made, nodes, queue: new Int32Array(64), queueKey: new Float64Array(64) });
    return tree;
  }

  /**
   * Offer to `top` every accepted track whose score could reach it, where score(i) is the mean over
   * the anchors of exp(−|x_i − anchor|² · inv[a] / s_i), s_i the track's local scale (`plain`: 1), and
   * `inv` one width for every anchor or one per anchor. Nodes are visited best bound first (the bound
   * divides by the node's largest local scale) and the search stops once no unvisited node can beat the
   * worst kept score; a leaf's rows are also bounded one by one (scanLeaf for one anchor, scanLeafAnchors for several). Returns how many
   * accepted tracks had their distance computed. It stays one function over ~80 lines on purpose: it is
   * the hot loop of similar_tracks, with its priority queue inlined over typed arrays (no closure or
   * allocation per visited node).
   */
  search(anchors: readonly Float64Array[], inv: number | ArrayLike<number>, accept: (i: number) => boolean, top: TopK, plain = false): number {
    const dims = this.dims;
    const anchorCount = anchors.length;
    const { rows, child, boxMin, boxMax, nodeScale } = this;
    const invs = typeof inv === 'number' ? new Float64Array(anchorCount).fill(inv) : inv;
    const bound = (node: number): number => {
      let sum = 0;
      for (let a = 0; a < anchorCount; a++) {
        const d = boxDistance2(boxMin, boxMax, node, dims, anchors[a]!);
        sum += Math.exp((-d * invs[a]!) / (plain ? 1 : nodeScale[node]!));
      }
      // anchorCount hair of slack so rounding can never make the bound fall below a real score.
      return (sum / anchorCount) * (1 + 1e-9) + 1e-300;
    };
    // Max-heap of nodes by bound.
    let queued = 0;
    const push = (node: number, key: number) => {
      if (queued === this.queue.length) {
        const q = new Int32Array(queued * 2);
        q.set(this.queue);
        this.queue = q;
        const qk = new Float64Array(queued * 2);
        qk.set(this.queueKey);
        this.queueKey = qk;
      }
      const q = this.queue;
      const qk = this.queueKey;
      let j = queued++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (qk[p]! >= key) break;
        q[j] = q[p]!;
        qk[j] = qk[p]!;
        j = p;
      }
      q[j] = node;
      qk[j] = key;
    };
    const pop = (): number => {
      const q = this.queue;
      const qk = this.queueKey;
      const top = q[0]!;
      const lastNode = q[--queued]!;
      const lastKey = qk[queued]!;
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= queued) break;
        const r = l + 1;
        const m = r < queued && qk[r]! > qk[l]! ? r : l;
        if (qk[m]! <= lastKey) break;
        q[j] = q[m]!;
        qk[j] = qk[m]!;
        j = m;
      }
      q[j] = lastNode;
      qk[j] = lastKey;
      return top;
    };
    let scored = 0;
    if (this.nodes === 0 || rows.length === 0) return 0;
    const gaps = new Float64Array(anchorCount);
    const toCentre = new Float64Array(anchorCount);
    push(0, bound(0));
    while (queued > 0) {
      const key = this.queueKey[0]!;
      if (top.full && key < top.floor) break;
      const node = pop();
      const l = child[2 * node]!;
      if (l >= 0) {
        const r = child[2 * node + 1]!;
        push(l, bound(l));
        push(r, bound(r));
        continue;
      }
      if (anchorCount === 1) {
        scored += this.scanLeaf(node, anchors, invs, accept, top, plain);
        continue;
      }
      scored += this.scanLeafAnchors(node, anchors, invs, accept, top, plain, gaps, toCentre);
    }
    return scored;
  }

  /**
   * anchorCount leaf's rows offered to `top` for several anchors: once `top` is full, a row is skipped when the mean over the
   * anchors of its best possible kernel (each anchor's distance bounded as in scanLeaf) is below the worst kept
   * score, before its distances are computed. `gaps` and `toCentre` are scratch, one entry per anchor.
   */
  private scanLeafAnchors(node: number, anchors: readonly Float64Array[], invs: ArrayLike<number>, accept: (i: number) => boolean, top: TopK, plain: boolean, gaps: Float64Array, toCentre: Float64Array): number {
    const dims = this.dims;
    const anchorCount = anchors.length;
    const { rows, order, lo, hi, boxMin, boxMax, localScale, leafCentre, rowRadius } = this;
    for (let a = 0; a < anchorCount; a++) {
      const v = anchors[a]!;
      let c2 = 0;
      for (let c = 0; c < dims; c++) {
        const y = v[c]! - leafCentre[node * dims + c]!;
        c2 += y * y;
      }
      gaps[a] = Math.sqrt(boxDistance2(boxMin, boxMax, node, dims, v));
      toCentre[a] = Math.sqrt(c2) * (1 - 1e-9);
    }
    let scored = 0;
    for (let p = lo[node]!, end = hi[node]!; p < end; p++) {
      const s = plain ? 1 : localScale[p]!;
      if (top.full) {
        let best = 0;
        for (let a = 0; a < anchorCount; a++) {
          const t = toCentre[a]! - rowRadius[p]!;
          const lb = t > gaps[a]! ? t : gaps[a]!;
          best += Math.exp((-lb * lb * invs[a]!) / s);
        }
        // The same slack as the node bound, so rounding never skips a row that could enter.
        if ((best / anchorCount) * (1 + 1e-9) + 1e-300 < top.floor) continue;
      }
      const i = order[p]!;
      if (!accept(i)) continue;
      scored++;
      top.offer(i, anchorKernel(rows, p * dims, dims, anchors, invs, s));
    }
    return scored;
  }

  /**
   * anchorCount leaf's rows offered to `top` for one anchor. anchorCount row lies at least max(box distance, distance from the
   * anchor to the leaf's centre − the row's radius) from the anchor (triangle inequality), so once `top` is
   * full a row whose bound, then whose own distance, scores below the worst kept score is skipped before the
   * exponential. The limit has slack so rounding never skips a row that could enter (ties rank by track id).
   * Returns how many rows' distances were computed.
   */
  private scanLeaf(node: number, anchors: readonly Float64Array[], invs: ArrayLike<number>, accept: (i: number) => boolean, top: TopK, plain: boolean): number {
    const dims = this.dims;
    const { rows, order, lo, hi, boxMin, boxMax, localScale, leafCentre, rowRadius } = this;
    const v = anchors[0]!;
    const inv = invs[0]!;
    let c2 = 0;
    for (let c = 0; c < dims; c++) {
      const y = v[c]! - leafCentre[node * dims + c]!;
      c2 += y * y;
    }
    const gap = Math.sqrt(boxDistance2(boxMin, boxMax, node, dims, v));
    const dist = Math.sqrt(c2) * (1 - 1e-9);
    let floor = NaN;
    // Largest squared distance ÷ local scale that can still score at least `floor` (Infinity while top is not full).
    let limit = Infinity;
    let scored = 0;
    for (let p = lo[node]!, end = hi[node]!; p < end; p++) {
      if (top.floor !== floor) {
        floor = top.floor;
        limit = floor > 0 ? (-Math.log(floor) * (1 + 1e-9) + 1e-15) / inv : Infinity;
      }
      const s = plain ? 1 : localScale[p]!;
      const t = dist - rowRadius[p]!;
      const lb = t > gap ? t : gap;
      if (lb * lb > limit * s) continue;
      const i = order[p]!;
      if (!accept(i)) continue;
      scored++;
      let d = 0;
      for (let c = 0, q = p * dims; c < dims; c++) {
        const x = rows[q + c]! - v[c]!;
        d += x * x;
      }
      if (d > limit * s) continue;
      top.offer(i, anchorKernel(rows, p * dims, dims, anchors, invs, s));
    }
    return scored;
  }
}

/** Squared distance from `v` to the bounding box of `node` (0 inside it). */
function boxDistance2(boxMin: Float32Array, boxMax: Float32Array, node: number, dims: number, v: ArrayLike<number>): number {
  let d = 0;
  for (let c = 0; c < dims; c++) {
    const x = v[c]!;
    const mn = boxMin[node * dims + c]!;
    const mx = boxMax[node * dims + c]!;
    const g = x < mn ? mn - x : x > mx ? x - mx : 0;
    d += g * g;
  }
  return d;
}

/**
 * What a tree derives from its parts at load: the largest local scale per node, and per leaf the centre of
 * its vectors with each row's distance from it (rounded up by a relative 1e-9, so the bound built on it stays
 * below every real distance despite rounding). Nodes are visited last to first, so a node's children (always
 * numbered after it) are done before it and its largest scale is theirs; a step covers DERIVED_STEP nodes.
 */
function* derivedSteps(parts: KdTreeParts & { localScale: Float32Array }): Steps<{ nodeScale: Float32Array; leafCentre: Float64Array; rowRadius: Float64Array }> {
  const { dims, rows, lo, hi, child, localScale } = parts;
  const nodes = lo.length;
  const nodeScale = new Float32Array(nodes);
  const leafCentre = new Float64Array(nodes * dims);
  const rowRadius = new Float64Array(localScale.length);
  for (let node = nodes - 1; node >= 0; node--) {
    if (node % DERIVED_STEP === 0) yield;
    const a = lo[node]!;
    const b = hi[node]!;
    const l = child[2 * node]!;
    if (l >= 0) {
      const r = child[2 * node + 1]!;
      nodeScale[node] = Math.max(nodeScale[l]!, nodeScale[r]!);
      continue;
    }
    let m = 0;
    for (let r = a; r < b; r++) if (localScale[r]! > m) m = localScale[r]!;
    nodeScale[node] = m;
    if (b === a) continue;
    const c0 = node * dims;
    for (let r = a; r < b; r++) for (let c = 0; c < dims; c++) leafCentre[c0 + c]! += rows[r * dims + c]!;
    for (let c = 0; c < dims; c++) leafCentre[c0 + c]! /= b - a;
    for (let r = a; r < b; r++) {
      let d = 0;
      for (let c = 0; c < dims; c++) {
        const x = rows[r * dims + c]! - leafCentre[c0 + c]!;
        d += x * x;
      }
      rowRadius[r] = Math.sqrt(d) * (1 + 1e-9);
    }
  }
  return { nodeScale, leafCentre, rowRadius };
}

/** Nodes of derivedSteps per step: 256 leaves of up to LEAF rows are well under a millisecond. */
const DERIVED_STEP = 256;

/** Quickselect: reorder a[lo..hi] so a[nth] holds the element of that rank by key, smaller keys before it. */
function select(a: Int32Array, lo: number, hi: number, nth: number, key: (v: number) => number): void {
  while (hi > lo) {
    const pivot = key(a[(lo + hi) >> 1]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key(a[i]!) < pivot) i++;
      while (key(a[j]!) > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else return;
  }
}
