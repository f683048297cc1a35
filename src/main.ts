import cluster from 'node:cluster';
import { join } from 'node:path';
import { CatalogHolder } from './catalog/holder.js';
import type { Catalog } from './catalog/catalog.js';
import { currentVersion } from './catalog/snapshot.js';
import type { CatalogMessage } from './cluster.js';
import { loadConfig, type Config } from './config.js';
import { DatasetError, MusicError } from './errors.js';
import { createConsoleLogger, type Logger } from './log.js';
import { PROJECT_ROOT } from './paths.js';
import type { ProgressView } from './progress.js';
import type { SpotifyDeps } from '../tools/shared.js';

// Start-up order: this module imports only what reading the snapshot needs, starts reading its files, and
// only then imports the serving side (the SDK, the tools and resources, the transports), so the file read
// (thread pool) and its checksum (a worker thread) overlap the module loading on the main thread.
const serverModule = () => import('./server.js');

const help = (PACKAGE: { name: string; version: string }) => `${PACKAGE.name} ${PACKAGE.version} — MCP server for music

Usage: music-mcp-server [--stdio | --client-config] [--help] [--version]

  (default)        serve Streamable HTTP at http://127.0.0.1:3333/mcp (MCP_HTTP_HOST, MCP_HTTP_PORT)
  --stdio          serve MCP over stdin/stdout (what desktop clients spawn)
  --client-config  print the "mcpServers" entry for desktop clients (absolute paths) and where it goes

On first start it builds the catalog (download dataset → staging → dbt marts → snapshot).
Environment: MUSIC_DATA_DIR, MUSIC_DATASET, MCP_HTTP_HOST, MCP_HTTP_PORT, MCP_HTTP_WORKERS, MCP_AUTH_TOKEN,
MCP_ALLOWED_ORIGINS, MCP_ALLOWED_HOSTS, SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET, LOG_LEVEL, LOG_FORMAT — see README.md.`;

/** How long HTTP calls in flight get to finish on SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Live Spotify fetches in a tool call: bounded (the tool also caps the whole live part at 5 s). */
const LIVE_SPOTIFY = { timeoutMs: 4_000, maxRetries: 1, maxRetryAfterMs: 4_000 } as const;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${help((await serverModule()).PACKAGE)}\n`);
    return;
  }
  if (argv.includes('--version')) {
    process.stderr.write(`${(await serverModule()).PACKAGE.version}\n`);
    return;
  }
  const unknown = argv.filter((a) => !['--stdio', '--client-config'].includes(a));
  if (unknown.length) throw new UsageError(`unknown argument ${unknown.join(' ')}; see --help`);
  if (argv.includes('--client-config')) {
    const { clientConfigText } = await import('./client-config.js');
    const { json, help } = clientConfigText();
    process.stdout.write(json);
    process.stderr.write(help);
    return;
  }

  const config = loadConfig();
  const stdio = argv.includes('--stdio');
  if (!stdio && config.http.workers > 1 && cluster.isPrimary) {
    // Several HTTP processes (src/cluster.ts): this one forks them and builds the first catalog if needed.
    const { log } = createConsoleLogger(config.logLevel, config.logFormat);
    const [{ runPrimary }, { PACKAGE }] = await Promise.all([import('./cluster.js'), serverModule()]);
    await runPrimary({
      workers: config.http.workers,
      log,
      graceMs: SHUTDOWN_GRACE_MS,
      announce: (url) => process.stderr.write(announcement(PACKAGE, url, config, config.http.workers)),
      fatal: (message) => process.stderr.write(`${PACKAGE.name}: ${message}\n`),
      ensureCatalog: async (report) => {
        if (!(await currentVersion(config.snapshotDir).catch(() => null))) await buildFirstCatalog(config, log, report);
      },
    });
    return;
  }
  const { log: root, view } = createConsoleLogger(config.logLevel, config.logFormat);
  const log = cluster.isWorker ? root.child({ worker: cluster.worker!.id }) : root;
  const holder = new CatalogHolder(config.snapshotDir, log);
  // The published snapshot's files are read (and their checksums computed) from here on, while the
  // serving modules load; the decode starts once the server answers (a worker gets its catalog from the primary).
  if (!cluster.isWorker) holder.prefetch();
  // The tools' output validators are compiled once the first catalog's indexes are in, each in a turn of
  // its own, rather than inside each tool's first call, where one compile (5–60 ms) held every other
  // request. Not during the load: there they delayed the first answer (docs/BENCHMARKS.md, "Issue 16, fourth pass").
  holder.once('indexed', () =>
    void import('./json-schema.js')
      .then(({ compileOutputValidators }) => compileOutputValidators())
      .then((n) => log.debug({ validators: n }, 'output validators compiled')),
  );
  // Likewise each served catalog's knowledge side, which the first search would otherwise make before scoring.
  holder.on('indexed', (catalog: Catalog) =>
    void import('../resources/knowledge.js')
      .then(({ prepareKnowledge }) => prepareKnowledge(catalog))
      .catch((err: Error) => log.warn({ err: err.message }, 'knowledge side not prepared ahead; the first search makes it')),
  );
  const { spotifyClientFromConfig } = await import('./spotify/from-config.js');
  // With Spotify credentials, artist_metadata refreshes stale artist data live; without, it answers from stored data.
  const spotifyClient = spotifyClientFromConfig(config, log, {
    ...LIVE_SPOTIFY,
    timeoutMs: Math.min(config.spotify.timeoutMs, LIVE_SPOTIFY.timeoutMs),
    maxRetries: Math.min(config.spotify.maxRetries, LIVE_SPOTIFY.maxRetries),
  });
  const spotify: SpotifyDeps = { spotify: spotifyClient, spotifyTtlMs: config.spotify.enrichTtlDays * 86_400_000 };
  log.info({ spotify: spotifyClient ? 'live fetches on' : 'no credentials: stored data only' }, 'artist_metadata Spotify access');
  if (stdio) await serveOverStdio(config, log, holder, spotify);
  else await serveHttp(config, log, holder, spotify);
  if (cluster.isWorker) {
    const { followPrimary } = await import('./cluster.js');
    await followPrimary(holder, log).catch((err: Error) => holder.fail(`the published catalog could not be loaded: ${err.message}`));
  } else {
    const clientConfig = `for a desktop client's config run: ${process.execPath} ${join(PROJECT_ROOT, 'bin', 'music-mcp-server.js')} --client-config`;
    await ensureCatalog(config, log, holder, () =>
      announceReady(holder, log, view, stdio ? 'serving MCP on stdin/stdout' : `MCP Streamable HTTP at ${httpUrl}; ${clientConfig}`),
    );
  }
  holder.watch(config.snapshotPollMs);
}

/** The URL the HTTP server listens at, once it does (for the ready line). */
let httpUrl: string | undefined;

/**
 * After the first load or build: what is served and how to reach it. A person at a terminal gets one
 * line (`ready: 28,356 tracks, 10,683 artists, 30 genres; …`); the JSON log gets a record. A failed
 * build has already said why in one line; nothing more is added.
 */
function announceReady(holder: CatalogHolder, log: Logger, view: ProgressView | null, how: string): void {
  const state = holder.current;
  if (state.status !== 'ready') return;
  const counts = { tracks: state.catalog.size, artists: state.catalog.artistCount, genres: state.catalog.genres.length };
  const text = `ready: ${counts.tracks.toLocaleString('en-US')} tracks, ${counts.artists.toLocaleString('en-US')} artists, ${counts.genres.toLocaleString('en-US')} genres; ${how}`;
  if (view) view.say(text);
  else log.info({ ...counts, version: state.catalog.version }, text);
}

class UsageError extends MusicError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/**
 * Load the published snapshot (its files already being read: `CatalogHolder.prefetch`), or build one
 * first (first run), reporting progress to waiting calls; `ready` runs once a catalog is served (also
 * when a retried build succeeds).
 */
async function ensureCatalog(config: Config, log: Logger, holder: CatalogHolder, ready: () => void): Promise<void> {
  try {
    if (await holder.load()) return ready();
  } catch (err) {
    return failed(log, err, (m) => holder.fail(m.error), 'the server reads it again after a doubling delay, and at once on a new publish');
  }
  const report = async (m: CatalogMessage) => {
    if (m.type === 'catalog-progress') holder.setProgress(m.detail);
    else if (m.type === 'catalog-failed') holder.fail(m.error);
    else await holder.load();
  };
  let outcome: BuildOutcome | 'building' = await buildFirstCatalog(config, log, report);
  if (outcome === 'published') ready();
  // A dataset that could not be fetched (offline, a file not there yet) is tried again when a tool call
  // finds the build failed, at most once per RETRY_DOWNLOAD_MS; the call waits for that attempt as
  // for any build. Other failures wait for `npm run pipeline`, whose publish the holder picks up.
  let lastTry = Date.now();
  holder.onFailedCall(() => {
    if (outcome !== 'retry' || Date.now() - lastTry < RETRY_DOWNLOAD_MS) return;
    outcome = 'building';
    lastTry = Date.now();
    holder.setProgress('trying the dataset again');
    void buildFirstCatalog(config, log, report).then((retried) => {
      outcome = retried;
      if (retried === 'published') ready();
    });
  });
}

type BuildOutcome = 'published' | 'retry' | 'failed';

/** A failed download is tried again by a tool call no sooner than this after the last attempt. */
const RETRY_DOWNLOAD_MS = 5_000;

/** Run the pipeline (all but enrichment) to publish the first catalog, reporting each step. */
async function buildFirstCatalog(
  config: Config,
  log: Logger,
  report: (m: CatalogMessage) => void | Promise<void>,
): Promise<BuildOutcome> {
  try {
    log.info({ dataDir: config.dataDir, dataset: config.dataset }, 'no published catalog yet: building it (first run only)');
    await report({ type: 'catalog-progress', detail: 'starting the pipeline' });
    // The first build skips Spotify enrichment (minutes at the API's rate): run `npm run enrich` later;
    // artist_metadata fetches live meanwhile when credentials are set.
    // Loaded only when a build is needed: the pipeline pulls in DuckDB, pg and the Snowflake driver,
    // which a server starting on a published snapshot never uses.
    const { PIPELINE_STEPS, runPipeline } = await import('./pipeline/run.js');
    await runPipeline(config, log, {
      steps: PIPELINE_STEPS.filter((s) => s !== 'enrich'),
      onProgress: (step) => void report({ type: 'catalog-progress', detail: `pipeline step: ${step}` }),
    });
    await report({ type: 'catalog-published' });
    return 'published';
  } catch (err) {
    // Bringing the dataset (download or local file) can succeed later by itself: the network comes back.
    const retry = err instanceof DatasetError;
    await failed(log, err, report, retry ? 'the next tool call tries again' : 'fix it and run `npm run pipeline`; the server serves the catalog it publishes without a restart');
    return retry ? 'retry' : 'failed';
  }
}

/** One line: what went wrong (naming the fix) and, for tool calls, what happens next. */
async function failed(
  log: Logger,
  err: unknown,
  report: (m: Extract<CatalogMessage, { type: 'catalog-failed' }>) => void | Promise<void>,
  next = 'fix it and restart the server',
): Promise<void> {
  const message = err instanceof MusicError ? err.message : `unexpected error: ${(err as Error).message}`;
  log.error({ code: (err as MusicError).code }, message);
  await report({ type: 'catalog-failed', error: `${message} (${next})` });
}

/** The line that tells where the server listens (tests and scripts look for `at http://…/mcp`). */
function announcement(PACKAGE: { name: string; version: string }, url: string, config: Config, workers: number): string {
  return (
    `${PACKAGE.name} ${PACKAGE.version}: MCP Streamable HTTP at ${url} — point your client there` +
    `${config.http.authToken ? ' with "Authorization: Bearer $MCP_AUTH_TOKEN"' : ''} (health: ${url.replace(/\/mcp$/, '/healthz')})` +
    `${workers > 1 ? `; ${workers} worker processes` : ''}\n`
  );
}

async function serveHttp(config: Config, log: Logger, holder: CatalogHolder, spotify: SpotifyDeps): Promise<void> {
  const [{ startHttpServer }, { reportListening }, { PACKAGE }] = await Promise.all([import('./http.js'), import('./cluster.js'), serverModule()]);
  const running = await startHttpServer({ catalog: holder, log, toolWaitMs: config.toolWaitMs, http: config.http, ...spotify });
  httpUrl = running.url;
  if (cluster.isWorker) reportListening(running.url);
  else process.stderr.write(announcement(PACKAGE, running.url, config, 1));
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.info({ why }, 'shutting down: finishing calls in flight');
    holder.close();
    await running.close(SHUTDOWN_GRACE_MS);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

async function serveOverStdio(config: Config, log: Logger, holder: CatalogHolder, spotify: SpotifyDeps): Promise<void> {
  const [{ createServer, PACKAGE, withChecks }, { StrictStdioServerTransport }, { serveStdio }] = await Promise.all([
    serverModule(), import('./stdio.js'), import('@modelcontextprotocol/server/stdio'),
  ]);
  const deps = { catalog: holder, log, toolWaitMs: config.toolWaitMs, ...spotify };
  // serveStdio picks the era from the connection's opening (initialize: 2025-era; a request carrying the
  // 2026-07-28 `_meta` envelope, such as server/discover: 2026-07-28) and pins one server from the factory
  // to it; a discover probe that the client follows with initialize gets a server of its own.
  const built: (() => Promise<void>)[] = [];
  const factory = () => {
    const { server, cleanup } = createServer(deps);
    built.push(cleanup);
    return server;
  };
  const cleanup = async () => void (await Promise.all(built.map((c) => c().catch(() => undefined))));
  const transport = new StrictStdioServerTransport();
  let closing = false;
  const shutdown = async (why: string, level: 'info' | 'warn' = 'info') => {
    if (closing) return;
    closing = true;
    log[level]({ why }, 'shutting down');
    holder.close();
    await cleanup().catch(() => undefined);
    process.exit(0);
  };
  // Nobody reads the answers any more: nothing left to serve.
  transport.onoutputclosed = (err) => void shutdown(`the client closed the server's stdout (${err.code ?? err.message})`, 'warn');
  /**
   * Answer every request already read, flush stdout, then exit. The wait lasts as long as answers keep
   * coming (a long backlog on a busy machine is answered whole); after SHUTDOWN_GRACE_MS without one
   * (a call that hangs) the server exits anyway.
   */
  let draining = false;
  const drainThenExit = (why: string) => {
    if (draining) return;
    draining = true;
    void (async () => {
      for (let seen = -1; seen !== transport.answersSent; ) {
        seen = transport.answersSent;
        const settled = await Promise.race([
          transport.settled().then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), SHUTDOWN_GRACE_MS)),
        ]);
        if (settled) break;
      }
      await Promise.race([
        new Promise<void>((resolve) => process.stdout.write('', () => resolve())),
        new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS)),
      ]);
      await shutdown(why);
    })();
  };
  // The client sent its last request: answer everything it asked, then exit.
  process.stdin.on('end', () => drainThenExit('stdin closed'));
  // A signal: read nothing more, finish the calls in flight like an end of input; a second signal exits at once.
  const onSignal = (signal: string) => {
    if (draining) return void shutdown(`${signal} again`);
    log.info({ signal }, 'finishing the calls in flight before exiting');
    process.stdin.pause();
    drainThenExit(signal);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  serveStdio(factory, { transport: withChecks(transport, deps), onerror: (err) => log.debug({ err: err.message }, 'stdio serving error') });
  log.info({ transport: 'stdio', version: PACKAGE.version }, 'MCP server ready on stdio');
}

main(process.argv.slice(2)).catch(async (err: unknown) => {
  const message = err instanceof MusicError ? err.message : String((err as Error)?.stack ?? err);
  // A worker's known failure (port in use) is the primary's to print: once, not once per worker.
  if (cluster.isWorker && err instanceof MusicError) return (await import('./cluster.js')).reportFatal(message, () => process.exit(1));
  const name = await serverModule().then((m) => m.PACKAGE.name, () => 'music-mcp-server');
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(err instanceof MusicError && err.code === 'USAGE' ? 64 : 1);
});
