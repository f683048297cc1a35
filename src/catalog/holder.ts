import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { SnapshotError } from '../errors.js';
import type { Logger } from '../log.js';
import { Catalog } from './catalog.js';
import { runSliced } from './slices.js';
import { readSearchFileLater } from './search-index.js';
import { currentVersion, decodeCatalogParts, openUnverified, snapshotIdentity, whenVerified } from './snapshot.js';

/**
 * Load a published snapshot version for serving: files read and hashed off the main thread, strings
 * decoded and indexes built in slices of the event loop (slices.ts) while the checksums are computed,
 * so serving goes on meanwhile; nothing is returned before every checksum matched. `opening`: the
 * files' read, when it was started before (CatalogHolder.prefetch).
 */
export async function loadCatalog(snapshotDir: string, version: string, opening = openUnverified(snapshotDir, version)): Promise<Catalog> {
  const { opened, verified } = await opening;
  const build = async () => {
    const parts = await decodeCatalogParts(opened);
    try {
      return await Catalog.load(parts);
    } catch (err) {
      throw new SnapshotError(`snapshot ${version} is unreadable (${(err as Error).message}); republish with \`npm run publish-snapshot\``, { cause: err });
    }
  };
  return whenVerified(verified, build());
}

export type CatalogState =
  | { status: 'loading'; detail: string }
  | { status: 'ready'; catalog: Catalog }
  | { status: 'failed'; error: string };

/** Longest wait between two attempts at the same broken snapshot. */
export const MAX_RETRY_MS = 300_000;

/** A published snapshot that failed to load: not read again before `retryAt` unless it changes. */
interface Broken { identity: string; delayMs: number; retryAt: number }

/**
 * Holds the catalog being served. Loads the published snapshot, polls CURRENT for a newer one and
 * swaps it in atomically (calls in flight keep the catalog they started with). Emits 'changed' on a swap,
 * and 'indexed' once a catalog's indexes built after it is served are in (idle-time work can follow).
 * A snapshot that fails to load is logged once and retried after a doubling delay (capped at
 * MAX_RETRY_MS) while the last good catalog keeps answering; a new publish is tried at once.
 */
export class CatalogHolder extends EventEmitter {
  private state: CatalogState = { status: 'loading', detail: 'starting' };
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private reloading = false;
  /** snapshotIdentity of the catalog being served. */
  private served: string | null = null;
  private broken: Broken | null = null;
  private retryBaseMs = 1_000;
  /** Called when a caller finds no catalog because building it failed; may start another build. */
  private retryBuild: (() => void) | null = null;
  /** The read of a snapshot version's files, started by `prefetch` for the next load to use. */
  private prefetched: { version: string; opening: ReturnType<typeof openUnverified> } | null = null;

  constructor(private readonly snapshotDir: string, private readonly log: Logger) {
    super();
  }

  /** For callers that already have a catalog (tests, benchmarks). */
  static of(catalog: Catalog, log: Logger): CatalogHolder {
    const h = new CatalogHolder('', log);
    h.set({ status: 'ready', catalog });
    return h;
  }

  get current(): CatalogState {
    return this.state;
  }

  /** Report build progress while no catalog is ready yet. */
  setProgress(detail: string): void {
    if (this.state.status !== 'ready') this.set({ status: 'loading', detail });
  }

  fail(error: string): void {
    if (this.state.status !== 'ready') this.set({ status: 'failed', error });
  }

  /**
   * Start reading the current snapshot's files (on the thread pool; the checksums in a worker thread)
   * without decoding anything: the next `load` continues from there. For a process that has other work
   * for its main thread first (main.ts imports the serving modules meanwhile). Errors surface in `load`.
   */
  prefetch(): void {
    const started = currentVersion(this.snapshotDir).then((version) => {
      if (!version) return;
      const opening = openUnverified(this.snapshotDir, version);
      opening.catch(() => undefined); // the load that uses it reports the failure
      this.prefetched = { version, opening };
    });
    started.catch(() => undefined); // the load reads CURRENT again and reports it
    this.prefetching = started;
  }

  private prefetching: Promise<void> | null = null;

  /** Load the current snapshot if there is one; returns whether a catalog is now being served. Throws when it cannot be read. */
  load(): Promise<boolean> {
    return this.refresh(true);
  }

  /**
   * Serve the snapshot CURRENT names unless it is the one already served. `force` reads it even when
   * it failed before and its retry time has not come; a poll (`force` false) logs a new failure once.
   */
  private async refresh(force: boolean): Promise<boolean> {
    let identity = 'CURRENT';
    try {
      const version = await currentVersion(this.snapshotDir);
      if (!version) return this.state.status === 'ready';
      identity = await snapshotIdentity(this.snapshotDir, version);
      if (identity === this.served) return true;
      if (!force && this.broken?.identity === identity && Date.now() < this.broken.retryAt) return this.state.status === 'ready';
      const started = Date.now();
      await this.prefetching?.catch(() => undefined);
      this.prefetching = null;
      const early = this.prefetched?.version === version ? this.prefetched.opening : undefined;
      this.prefetched = null;
      const catalog = await loadCatalog(this.snapshotDir, version, early);
      // The search file is read once the catalog is served (a search awaits it: searchFileRead).
      void readSearchFileLater(catalog, join(this.snapshotDir, version), this.log);
      const previous = this.state.status === 'ready' ? this.state.catalog.version : null;
      this.served = identity;
      this.broken = null;
      this.set({ status: 'ready', catalog });
      // Name resolution's artist and title indexes are built right after, in slices, once calls waiting for the catalog have run
      // (a call that needs one sooner finishes its build at once).
      // 'indexed' tells whoever has idle-time work of their own that these slices are done.
      setImmediate(() =>
        void runSliced(catalog.indexSteps()).then(
          () => this.emit('indexed', catalog),
          (err: Error) => this.log.error({ err: err.message }, 'name resolution index not built'),
        ),
      ).unref();
      this.log.info({ version, tracks: catalog.size, ms: Date.now() - started, previous }, 'serving catalog loaded');
      if (previous) this.emit('changed', catalog);
      return true;
    } catch (err) {
      this.noteBroken(identity === 'CURRENT' ? `CURRENT: ${(err as Error).message}` : identity, err as Error, !force);
      throw err;
    }
  }

  private noteBroken(identity: string, err: Error, log: boolean): void {
    const now = Date.now();
    if (this.broken?.identity === identity) {
      this.broken.delayMs = Math.min(this.broken.delayMs * 2, MAX_RETRY_MS);
      this.broken.retryAt = now + this.broken.delayMs;
      this.log.debug({ err: err.message, retryInMs: this.broken.delayMs }, 'snapshot still cannot be loaded');
      return;
    }
    this.broken = { identity, delayMs: this.retryBaseMs, retryAt: now + this.retryBaseMs };
    if (!log) return;
    const serving = this.state.status === 'ready' ? `still serving ${this.state.catalog.version}` : 'no catalog to serve yet';
    this.log.error({ err: err.message }, `published snapshot could not be loaded; ${serving}; retrying with a doubling delay up to ${MAX_RETRY_MS / 60_000} min, or at once on a new publish`);
  }

  /** Poll for newer publishes. A failed reload keeps serving the previous catalog. */
  watch(intervalMs: number): void {
    this.retryBaseMs = intervalMs;
    this.timer = setInterval(() => {
      if (this.reloading) return;
      this.reloading = true;
      this.refresh(false)
        .catch(() => undefined) // logged by noteBroken
        .finally(() => (this.reloading = false));
    }, intervalMs);
    this.timer.unref();
  }

  /** What to do when a caller finds the build failed (main.ts tries a failed download again). */
  onFailedCall(retry: () => void): void {
    this.retryBuild = retry;
  }

  /** Wait up to `ms` for a catalog; returns the state then. */
  async waitReady(ms: number): Promise<CatalogState> {
    if (this.state.status === 'failed') this.retryBuild?.();
    if (this.state.status !== 'loading' || ms <= 0) return this.state;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.waiters = self.waiters.filter((w) => w !== done);
        resolve();
      }
      this.waiters.push(done);
    });
    return this.state;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) w();
  }

  private set(state: CatalogState): void {
    this.state = state;
    if (state.status !== 'loading') for (const w of this.waiters.splice(0)) w();
  }
}
