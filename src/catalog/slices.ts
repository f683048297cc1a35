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

interface Job {
  steps: Steps<unknown>;
  budgetMs: number;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** Every computation being run in slices, in the order they take steps. */
const jobs: Job[] = [];
let turnScheduled = false;

/**
 * One turn of the event loop's share of the sliced work: the jobs take a step each in turn until the
 * smallest budget among them has passed (at least one step), then the loop gets the thread back. One
 * turn for all of them, not one per job: run side by side (a load's index build, a call waiting for it,
 * the knowledge side, validators), each with its own turn of `budgetMs`, they held a ping for the sum.
 */
function runTurn(): void {
  turnScheduled = false;
  const since = performance.now();
  let budget = Infinity;
  for (const j of jobs) budget = Math.min(budget, j.budgetMs);
  let at = 0;
  do {
    if (at >= jobs.length) at = 0;
    const job = jobs[at]!;
    let r: IteratorResult<void, unknown>;
    try {
      r = job.steps.next();
    } catch (err) {
      jobs.splice(at, 1);
      job.reject(err as Error);
      continue;
    }
    if (r.done) {
      jobs.splice(at, 1);
      job.resolve(r.value);
    } else at++;
  } while (jobs.length && performance.now() - since < budget);
  if (jobs.length) scheduleTurn();
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(runTurn);
}

/**
 * Run in slices on the event loop: from the next turn on, a turn at a time, handing the loop back once
 * `budgetMs` has passed in that turn. Every computation run this way shares the same turns and budget.
 */
export function runSliced<T>(steps: Steps<T>, budgetMs = 8): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    jobs.push({ steps, budgetMs, resolve: resolve as (value: unknown) => void, reject });
    scheduleTurn();
  });
}

/**
 * `runSliced`, with its first slice taken at once, in the caller's turn: a computation that ends within
 * `budgetMs` (most search queries) answers without waiting for the shared scheduler's next turn, which
 * also runs a slice of whatever else is under way (after a load: the knowledge side, up to the budget);
 * a longer one goes on in slices. (At rest, on the default dataset, search over ping measured the same
 * either way within noise: 1.82 and 1.87 ms.)
 */
export function runFromNow<T>(steps: Steps<T>, budgetMs = 8): Promise<T> {
  const since = performance.now();
  try {
    for (;;) {
      const r = steps.next();
      if (r.done) return Promise.resolve(r.value);
      if (performance.now() - since >= budgetMs) return runSliced(steps, budgetMs);
    }
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/**
 * A value made once by steps, whoever asks first: `steps()` to drive it (a second driver continues the
 * same build), `now()` to finish it at once, `later()` to finish it in slices (runSliced).
 */
export class SharedBuild<T> {
  private made: { value: T } | undefined;
  private build: Steps<void> | undefined;
  private failed: Error | undefined;
  constructor(private readonly make: () => Steps<T>) {}

  /** The value, if made. */
  get value(): T | undefined {
    return this.made?.value;
  }

  get ready(): boolean {
    return this.made !== undefined;
  }

  *steps(): Steps<void> {
    if (this.made) return;
    if (this.failed) throw this.failed;
    yield* (this.build ??= this.run());
  }

  now(): T {
    if (!this.made) runNow(this.steps());
    return this.made!.value;
  }

  async later(): Promise<T> {
    if (!this.made) await runSliced(this.steps());
    return this.made!.value;
  }

  private *run(): Steps<void> {
    try {
      this.made = { value: yield* this.make() };
    } catch (err) {
      // Every later caller gets the same error, not a build that silently made nothing.
      this.failed = err as Error;
      throw err;
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
