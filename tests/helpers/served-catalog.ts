import { join } from 'node:path';
import type { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogHolder } from '../../src/catalog/holder.js';
import { readSnapshot } from '../../src/catalog/snapshot.js';
import { loadConfig } from '../../src/config.js';
import { startHttpServer, type HttpDeps, type RunningHttpServer } from '../../src/http.js';
import { silentLogger } from '../../src/log.js';
import { stdioBinTransport } from './server-process.js';

/** A holder with the catalog published in `dataDir` already loaded (it does not poll for new publishes). */
export async function publishedHolder(dataDir: string): Promise<CatalogHolder> {
  return CatalogHolder.of(new Catalog(await readSnapshot(join(dataDir, 'snapshots'))), silentLogger);
}

/**
 * The HTTP server in this process over `holder`, on a free port, with a silent log and tools that wait up
 * to 5 s for a build. `env` sets the HTTP settings as the variables do (MCP_MAX_BATCH, MCP_AUTH_TOKEN, …);
 * `extra` overrides any other dependency (a Spotify client, a shorter tool wait).
 */
export async function httpOver(holder: CatalogHolder, env: Record<string, string> = {}, extra: Partial<HttpDeps> = {}): Promise<RunningHttpServer> {
  return startHttpServer({ catalog: holder, log: silentLogger, toolWaitMs: 5_000, http: loadConfig({ MCP_HTTP_PORT: '0', ...env }).http, ...extra });
}

/** The HTTP server in this process over the catalog published in `dataDir`, on a free port. */
export async function httpOverCatalog(dataDir: string): Promise<RunningHttpServer> {
  return httpOver(await publishedHolder(dataDir));
}

/** A client transport that starts the server in stdio mode, as a client configuration does, over `dataDir`. */
export function stdioServerTransport(dataDir: string): StdioClientTransport {
  return stdioBinTransport({ MUSIC_DATA_DIR: dataDir });
}
