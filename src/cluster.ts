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
 * The cluster primary: forks the workers, forwards catalog messages, restarts dead workers (with the
 * start-failure backoff and the restart cap above) and stops them on SIGINT/SIGTERM. It stays one function
 * over ~80 lines on purpose: it is one state machine (alive, listening, start failures, restarts,
 * stopping) whose event handlers all read and change that state, and each handler is short.
 */
export async function runPrimary(opts: PrimaryOptions): Promise<void> {
  const { log } = opts;
  const alive = new Set<number>();
  const listening = new Set<number>();
  let lastCatalog: CatalogMessage | null = null;
  let announced = false;
  let stopping = false;
  const restarts: number[] = [];
  /** Times of the start failures since a worker last started listening. */
  let startFailures: number[] = [];
  /** Per worker: its reason it cannot start that would stop any other worker too (port in use, no permission). */
  const fatal = new Map<number, string>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    alive.add(worker.id);
    log.info({ worker: worker.id, pid: worker.process.pid }, 'HTTP worker started');
    worker.on('message', (m: WorkerMessage) => {
      if (m?.type === 'fatal') {
        fatal.set(worker.id, m.message);
        return;
      }
      if (m?.type !== 'listening') return;
      listening.add(worker.id);
      startFailures = [];
      log.info({ worker: worker.id, pid: worker.process.pid }, 'HTTP worker listening');
      if (lastCatalog) worker.send(lastCatalog);
      if (!announced && listening.size >= opts.workers) {
        announced = true;
        opts.announce(m.url);
      }
    });
    return worker;
  };

  const exitAll = (code: number) => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(code);
  };

  cluster.on('exit', (worker, code, signal) => {
    alive.delete(worker.id);
    const wasListening = listening.delete(worker.id);
    const reason = fatal.get(worker.id);
    fatal.delete(worker.id);
    if (stopping) {
      if (alive.size === 0) process.exit(0);
      return;
    }
    const now = Date.now();
    if (!wasListening) {
      if (reason !== undefined) {
        // It said why it cannot start (bad port, no permission): another would fail the same way.
        opts.fatal(reason);
        exitAll(1);
        return;
      }
      // Killed or crashed while starting: try again, later each time, unless it keeps happening.
      startFailures = [...startFailures.filter((t) => t >= now - START_FAILURE_WINDOW_MS), now];
      if (startFailures.length >= MAX_START_FAILURES) {
        log.error(
          { worker: worker.id, code, signal },
          `HTTP workers failed to start ${startFailures.length} times in a row within ${START_FAILURE_WINDOW_MS / 1_000} s (last: ${exitReason(code, signal)}); stopping`,
        );
        exitAll(1);
        return;
      }
      const delayMs = Math.min(START_BACKOFF_MAX_MS, START_BACKOFF_MS * 2 ** (startFailures.length - 1));
      log.warn({ worker: worker.id, code, signal, failures: startFailures.length, delayMs }, `HTTP worker stopped before it listened (${exitReason(code, signal)}); starting another in ${delayMs} ms`);
      setTimeout(() => {
        if (!stopping) fork();
      }, delayMs);
      return;
    }
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log.error({ restarts: restarts.length }, `HTTP workers died ${restarts.length} times within ${RESTART_WINDOW_MS / 1_000} s (last: ${exitReason(code, signal)}); stopping`);
      exitAll(1);
      return;
    }
    log.error({ worker: worker.id, code, signal }, 'HTTP worker died; starting another');
    fork();
  });

  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why, workers: alive.size }, 'shutting down: workers finish calls in flight');
    if (alive.size === 0) process.exit(0);
    for (const w of Object.values(cluster.workers ?? {})) if (w && alive.has(w.id)) w.process.kill('SIGTERM');
    // Workers drain within their grace time; past that (plus a margin) they are stopped.
    setTimeout(() => exitAll(0), opts.graceMs + 5_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  for (let i = 0; i < opts.workers; i++) fork();
  await opts.ensureCatalog((message) => {
    lastCatalog = message;
    for (const w of Object.values(cluster.workers ?? {})) if (w && listening.has(w.id) && w.isConnected()) w.send(message);
  });
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
