import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Catalog } from '../../src/catalog/catalog.js';
import { CatalogHolder } from '../../src/catalog/holder.js';
import { readSnapshot } from '../../src/catalog/snapshot.js';
import { loadConfig } from '../../src/config.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http.js';
import { silentLogger } from '../../src/log.js';
import { REPO_ROOT } from './dataset.js';

/** The HTTP server in this process over the catalog published in `dataDir`, on a free port. */
export async function httpOverCatalog(dataDir: string): Promise<RunningHttpServer> {
  const holder = CatalogHolder.of(new Catalog(await readSnapshot(join(dataDir, 'snapshots'))), silentLogger);
  return startHttpServer({ catalog: holder, log: silentLogger, toolWaitMs: 5_000, http: loadConfig({ MCP_HTTP_PORT: '0' }).http });
}

/** A client transport that starts the server in stdio mode, as a client configuration does, over `dataDir`. */
export function stdioServerTransport(dataDir: string): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio'],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stderr: 'ignore',
  });
}
