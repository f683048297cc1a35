import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { Catalog } from './catalog.js';
import { currentVersion, readSnapshot } from './snapshot.js';

export type CatalogState =
  | { status: 'loading'; detail: string }
  | { status: 'ready'; catalog: Catalog }
  | { status: 'failed'; error: string };

/**
 * Holds the catalog being served. Loads the published snapshot, polls CURRENT for a newer one and
 * swaps it in atomically (calls in flight keep the catalog they started with). Emits 'changed'.
 */
export class CatalogHolder extends EventEmitter {
  private state: CatalogState = { status: 'loading', detail: 'starting' };
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private reloading = false;

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

  /** Load the current snapshot if there is one; returns whether a catalog is now being served. */
  async load(): Promise<boolean> {
    const version = await currentVersion(this.snapshotDir);
    if (!version) return false;
    if (this.state.status === 'ready' && this.state.catalog.version === version) return true;
    const started = Date.now();
    const catalog = new Catalog(await readSnapshot(this.snapshotDir, version));
    const previous = this.state.status === 'ready' ? this.state.catalog.version : null;
    this.set({ status: 'ready', catalog });
    // The title index of name resolution is built right after, once calls waiting for the catalog have run.
    setImmediate(() => catalog.names.warm()).unref();
    this.log.info({ version, tracks: catalog.size, ms: Date.now() - started, previous }, 'serving catalog loaded');
    if (previous) this.emit('changed', catalog);
    return true;
  }

  /** Poll for newer publishes. A failed reload keeps serving the previous catalog. */
  watch(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.reloading) return;
      this.reloading = true;
      this.load()
        .catch((err: Error) => this.log.error({ err: err.message }, 'new snapshot could not be loaded; still serving the previous one'))
        .finally(() => (this.reloading = false));
    }, intervalMs);
    this.timer.unref();
  }

  /** Wait up to `ms` for a catalog; returns the state then. */
  async waitReady(ms: number): Promise<CatalogState> {
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
