import cluster, { type Worker } from 'node:cluster';
import type { CatalogHolder } from './catalog/holder.js';
import type { Logger } from './log.js';

/**
 * Several HTTP server processes on one port (MCP_HTTP_WORKERS > 1), with node:cluster: the primary
 * forks the workers and hands them connections in turn; each worker is a whole stateless HTTP server
 * with its own copy of the catalog, polling the snapshot dir for new publishes like a single process.
 * The primary serves nothing and loads no catalog: it builds the first one when there is none yet (once,
 * not once per worker) and tells the workers how that goes, restarts a worker that dies (one that dies
 * before it listens after a pause that doubles each time, giving up after five such deaths in a row within
 * a minute), and on SIGTERM/SIGINT has every worker finish its calls in flight before it exits.
 */

/** What the primary tells workers about the first catalog build. */
export type CatalogMessage =
  | { type: 'catalog-progress'; detail: string }
  | { type: 'catalog-failed'; error: string }
  | { type: 'catalog-published' };

/** What a worker tells the primary: it listens, or it cannot start for a reason that would stop any other too. */
type WorkerMessage = { type: 'listening'; url: string } | { type: 'fatal'; message: string };

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** Printed once every worker listens (the same line a single process prints). */
  announce: (url: string) => void;
  /** Prints why the workers cannot start (a worker's one-line reason, such as a port in use) before the primary exits 1. */
  fatal: (message: string) => void;
  /** Build the first catalog if none is published yet, reporting to the workers; resolves when done. */
  ensureCatalog: (report: (message: CatalogMessage) => void) => Promise<void>;
  /** How long workers get to finish calls in flight on shutdown. */
  graceMs: number;
}

/** Restarts of crashed workers allowed within RESTART_WINDOW_MS before the primary gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Workers that die before they listen (killed while starting, as by the OOM killer): this many in a row within START_FAILURE_WINDOW_MS stop the primary. */
const MAX_START_FAILURES = 5;
const START_FAILURE_WINDOW_MS = 60_000;
/** Wait before starting a worker after the n-th start failure in a row: doubling from this, up to START_BACKOFF_MAX_MS. */
const START_BACKOFF_MS = 250;
const START_BACKOFF_MAX_MS = 5_000;

const exitReason = (code: number | null, signal: string | null) => (signal ? `killed by ${signal}` : `exit code ${code}`);

/**
 * What the primary does after a worker died: start another after `delayMs`, or stop every process. `deaths`
 * counts the deaths of that kind (start failures in a row, or restarts) within their window.
 */
export type AfterDeath = { restart: true; delayMs: number; deaths: number } | { restart: false; deaths: number };

/**
 * How many worker deaths the primary takes before it stops: deaths before listening (start failures)
 * back off and stop at MAX_START_FAILURES in a row within their window; deaths of listening workers
 * restart at once and stop past MAX_RESTARTS within theirs.
 */
export class RestartBudget {
  private restarts: number[] = [];
  /** Times of the start failures since a worker last started listening. */
  private startFailures: number[] = [];

  /** A worker listens: the start failures before it no longer count as "in a row". */
  listened(): void {
    this.startFailures = [];
  }

  /** A worker died before it listened, at `now` (ms). */
  startFailed(now: number): AfterDeath {
    this.startFailures = [...this.startFailures.filter((t) => t >= now - START_FAILURE_WINDOW_MS), now];
    const failures = this.startFailures.length;
    if (failures >= MAX_START_FAILURES) return { restart: false, deaths: failures };
    return { restart: true, delayMs: Math.min(START_BACKOFF_MAX_MS, START_BACKOFF_MS * 2 ** (failures - 1)), deaths: failures };
  }

  /** A listening worker died at `now` (ms). */
  died(now: number): AfterDeath {
    this.restarts.push(now);
    while (this.restarts.length && this.restarts[0]! < now - RESTART_WINDOW_MS) this.restarts.shift();
    const deaths = this.restarts.length;
    return deaths > MAX_RESTARTS ? { restart: false, deaths } : { restart: true, delayMs: 0, deaths };
  }
}

/**
 * The cluster primary's state (which workers are alive and listening, the last catalog message, whether
 * it is stopping) and its event handlers: a worker's message, a worker's exit, a stop signal.
 */
class Primary {
  private readonly alive = new Set<number>();
  private readonly listening = new Set<number>();
  /** Per worker: its reason it cannot start that would stop any other worker too (port in use, no permission). */
  private readonly fatal = new Map<number, string>();
  private readonly budget = new RestartBudget();
  private lastCatalog: CatalogMessage | null = null;
  private announced = false;
  private stopping = false;

  constructor(private readonly opts: PrimaryOptions) {}

  private get log(): Logger {
    return this.opts.log;
  }

  fork(): Worker {
    const worker = cluster.fork();
    this.alive.add(worker.id);
    this.log.info({ worker: worker.id, pid: worker.process.pid }, 'HTTP worker started');
    worker.on('message', (m: WorkerMessage) => this.onMessage(worker, m));
    return worker;
  }

  private onMessage(worker: Worker, m: WorkerMessage): void {
    if (m?.type === 'fatal') {
      this.fatal.set(worker.id, m.message);
      return;
    }
    if (m?.type !== 'listening') return;
    this.listening.add(worker.id);
    this.budget.listened();
    this.log.info({ worker: worker.id, pid: worker.process.pid }, 'HTTP worker listening');
    if (this.lastCatalog) worker.send(this.lastCatalog);
    if (!this.announced && this.listening.size >= this.opts.workers) {
      this.announced = true;
      this.opts.announce(m.url);
    }
  }

  onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.alive.delete(worker.id);
    const wasListening = this.listening.delete(worker.id);
    const reason = this.fatal.get(worker.id);
    this.fatal.delete(worker.id);
    if (this.stopping) {
      if (this.alive.size === 0) process.exit(0);
      return;
    }
    if (wasListening) this.afterCrash(worker, code, signal);
    else if (reason !== undefined) {
      // It said why it cannot start (bad port, no permission): another would fail the same way.
      this.opts.fatal(reason);
      this.exitAll(1);
    } else this.afterStartFailure(worker, code, signal);
  }

  /** Killed or crashed while starting: try again, later each time, unless it keeps happening. */
  private afterStartFailure(worker: Worker, code: number | null, signal: string | null): void {
    const next = this.budget.startFailed(Date.now());
    if (!next.restart) {
      this.log.error(
        { worker: worker.id, code, signal },
        `HTTP workers failed to start ${next.deaths} times in a row within ${START_FAILURE_WINDOW_MS / 1_000} s (last: ${exitReason(code, signal)}); stopping`,
      );
      this.exitAll(1);
      return;
    }
    const { delayMs } = next;
    this.log.warn(
      { worker: worker.id, code, signal, failures: next.deaths, delayMs },
      `HTTP worker stopped before it listened (${exitReason(code, signal)}); starting another in ${delayMs} ms`,
    );
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delayMs);
  }

  /** A worker that served died: start another at once, unless workers keep dying. */
  private afterCrash(worker: Worker, code: number | null, signal: string | null): void {
    const next = this.budget.died(Date.now());
    if (!next.restart) {
      this.log.error({ restarts: next.deaths }, `HTTP workers died ${next.deaths} times within ${RESTART_WINDOW_MS / 1_000} s (last: ${exitReason(code, signal)}); stopping`);
      this.exitAll(1);
      return;
    }
    this.log.error({ worker: worker.id, code, signal }, 'HTTP worker died; starting another');
    this.fork();
  }

  stop(why: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ why, workers: this.alive.size }, 'shutting down: workers finish calls in flight');
    if (this.alive.size === 0) process.exit(0);
    for (const w of Object.values(cluster.workers ?? {})) if (w && this.alive.has(w.id)) w.process.kill('SIGTERM');
    // Workers drain within their grace time; past that (plus a margin) they are stopped.
    setTimeout(() => this.exitAll(0), this.opts.graceMs + 5_000).unref();
  }

  /** Send a catalog message to every listening worker, and to each that starts listening later. */
  broadcast(message: CatalogMessage): void {
    this.lastCatalog = message;
    for (const w of Object.values(cluster.workers ?? {})) if (w && this.listening.has(w.id) && w.isConnected()) w.send(message);
  }

  private exitAll(code: number): never {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(code);
  }
}

/**
 * The cluster primary: forks the workers, forwards catalog messages, restarts dead workers (with the
 * start-failure backoff and the restart cap of RestartBudget) and stops them on SIGINT/SIGTERM.
 */
export async function runPrimary(opts: PrimaryOptions): Promise<void> {
  const primary = new Primary(opts);
  cluster.on('exit', (worker, code, signal) => primary.onExit(worker, code, signal));
  process.on('SIGINT', () => primary.stop('SIGINT'));
  process.on('SIGTERM', () => primary.stop('SIGTERM'));
  for (let i = 0; i < opts.workers; i++) primary.fork();
  await opts.ensureCatalog((message) => primary.broadcast(message));
}

/** In a worker: tell the primary where it listens. */
export function reportListening(url: string): void {
  process.send?.({ type: 'listening', url } satisfies WorkerMessage);
}

/** In a worker that cannot start for a reason any worker would meet: tell the primary (which prints it once), then `done`. */
export function reportFatal(message: string, done: () => void): void {
  if (!process.send || !process.connected) return done();
  process.send({ type: 'fatal', message } satisfies WorkerMessage, undefined, {}, () => done());
}

/**
 * In a worker: load the published catalog, or show the primary's progress on the first build until it
 * is published (the snapshot poll would find it too; the message just saves the wait).
 */
export async function followPrimary(holder: CatalogHolder, log: Logger): Promise<void> {
  process.on('message', (m: CatalogMessage) => {
    if (m?.type === 'catalog-progress') holder.setProgress(m.detail);
    else if (m?.type === 'catalog-failed') holder.fail(m.error);
    else if (m?.type === 'catalog-published') {
      holder.load().catch((err: Error) => log.error({ err: err.message }, 'published catalog could not be loaded'));
    }
  });
  if (!(await holder.load())) holder.setProgress('waiting for the first catalog build');
}
