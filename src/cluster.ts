import cluster, { type Worker } from 'node:cluster';
import type { CatalogHolder } from './catalog/holder.js';
import type { Logger } from './log.js';

/**
 * Several HTTP server processes on one port (MCP_HTTP_WORKERS > 1), with node:cluster: the primary
 * forks the workers and hands them connections in turn; each worker is a whole stateless HTTP server
 * with its own copy of the catalog, polling the snapshot dir for new publishes like a single process.
 * The primary serves nothing and loads no catalog: it builds the first one when there is none yet (once,
 * not once per worker) and tells the workers how that goes, restarts a worker that dies, and on
 * SIGTERM/SIGINT has every worker finish its calls in flight before it exits.
 */

/** What the primary tells workers about the first catalog build. */
export type CatalogMessage =
  | { type: 'catalog-progress'; detail: string }
  | { type: 'catalog-failed'; error: string }
  | { type: 'catalog-published' };

/** What a worker tells the primary. */
type WorkerMessage = { type: 'listening'; url: string };

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** Printed once every worker listens (the same line a single process prints). */
  announce: (url: string) => void;
  /** Build the first catalog if none is published yet, reporting to the workers; resolves when done. */
  ensureCatalog: (report: (message: CatalogMessage) => void) => Promise<void>;
  /** How long workers get to finish calls in flight on shutdown. */
  graceMs: number;
}

/** Restarts of crashed workers allowed within RESTART_WINDOW_MS before the primary gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export async function runPrimary(opts: PrimaryOptions): Promise<void> {
  const { log } = opts;
  const alive = new Set<number>();
  const listening = new Set<number>();
  let lastCatalog: CatalogMessage | null = null;
  let announced = false;
  let stopping = false;
  const restarts: number[] = [];

  const fork = (): Worker => {
    const worker = cluster.fork();
    alive.add(worker.id);
    worker.on('message', (m: WorkerMessage) => {
      if (m?.type !== 'listening') return;
      listening.add(worker.id);
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
    if (stopping) {
      if (alive.size === 0) process.exit(0);
      return;
    }
    if (!wasListening) {
      // It never started serving (bad port, bad config): another would fail the same way.
      log.error({ worker: worker.id, code, signal }, 'HTTP worker failed to start; stopping');
      exitAll(1);
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log.error({ restarts: restarts.length }, 'HTTP workers keep dying; stopping');
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
