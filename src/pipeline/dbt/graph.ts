/**
 * The model graph: dependency order, cycle reporting and "did you mean" suggestions.
 */
import { TransformError } from '../../errors.js';

/** Levenshtein distance (small strings: model and source names). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Up to three known names close to `name` (by edit distance, or sharing a substring). */
export function suggest(name: string, known: Iterable<string>): string[] {
  const lower = name.toLowerCase();
  return [...known]
    .map((k) => ({ k, d: editDistance(lower, k.toLowerCase()) }))
    .filter(({ k, d }) => d <= Math.max(2, Math.floor(name.length / 3)) || k.toLowerCase().includes(lower) || lower.includes(k.toLowerCase()))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, 3)
    .map(({ k }) => k);
}

export function didYouMean(name: string, known: Iterable<string>): string {
  const close = suggest(name, known);
  return close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : '';
}

/**
 * Order nodes so each comes after everything it depends on (ties broken by name, so the order is
 * stable). `deps` maps each node to the nodes it depends on; all of them must be keys of `deps`.
 * Throws a TransformError naming the cycle if there is one.
 */
export function topoSort(deps: ReadonlyMap<string, readonly string[]>): string[] {
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [node, parents] of deps) {
    indegree.set(node, new Set(parents).size);
    for (const p of new Set(parents)) {
      if (!dependents.has(p)) dependents.set(p, []);
      dependents.get(p)!.push(node);
    }
  }
  const ready = [...indegree].filter(([, n]) => n === 0).map(([k]) => k).sort();
  const order: string[] = [];
  while (ready.length) {
    const node = ready.shift()!;
    order.push(node);
    for (const child of dependents.get(node) ?? []) {
      const left = indegree.get(child)! - 1;
      indegree.set(child, left);
      if (left === 0) {
        ready.push(child);
        ready.sort();
      }
    }
  }
  if (order.length < deps.size) {
    const cycle = findCycle(deps, new Set(order));
    throw new TransformError(
      `models form a dependency cycle: ${cycle.join(' → ')}; a model cannot (indirectly) ref itself — break the cycle by removing one of these refs`,
      cycle[0],
    );
  }
  return order;
}

function findCycle(deps: ReadonlyMap<string, readonly string[]>, done: Set<string>): string[] {
  const state = new Map<string, 'visiting' | 'visited'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const parent of [...(deps.get(node) ?? [])].sort()) {
      if (done.has(parent)) continue;
      if (state.get(parent) === 'visiting') {
        // stack holds node → … (dependents first); report in ref order: a refs b refs … refs a
        return [...stack.slice(stack.indexOf(parent)), parent];
      }
      if (!state.has(parent)) {
        const found = visit(parent);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'visited');
    return undefined;
  };
  for (const node of [...deps.keys()].sort()) {
    if (done.has(node) || state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return [...deps.keys()].filter((k) => !done.has(k));
}
