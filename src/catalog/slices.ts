/**
 * Long computations written once as generators that `yield` at safe points, run either at once
 * (`runNow`: tests, scripts) or in bounded slices on the event loop (`runSliced`: the server), so a
 * catalog load or swap never holds the loop for more than about `budgetMs` between two yields.
 */

export type Steps<T> = Generator<void, T>;

/** Run to completion synchronously. */
export function runNow<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Run, handing the event loop back whenever `budgetMs` has passed since the last hand-back. */
export async function runSliced<T>(steps: Steps<T>, budgetMs = 8): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= budgetMs) {
      await tick();
      since = performance.now();
    }
  }
}

/** `for (i = 0; i < n; i++) body(i)` that yields every `every` iterations. */
export function* loop(n: number, body: (i: number) => void, every = 256): Steps<void> {
  for (let i = 0; i < n; i++) {
    body(i);
    if (i % every === every - 1) yield;
  }
}
