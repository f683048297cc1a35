import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { REPO_ROOT } from './dataset.js';

/** The package's executable, which every test of a server process starts. */
export const SERVER_BIN = join(REPO_ROOT, 'bin/music-mcp-server.js');

/**
 * The package bin as an HTTP server process (add MCP_HTTP_PORT: '0' for a free port) with `env` as its
 * whole environment; stderr is piped, for its logs and announcedUrl.
 */
export function spawnHttpServer(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [SERVER_BIN], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The Streamable HTTP URL a server process announces on stderr (spawned with stderr piped); rejects if it exits first. */
export function announcedUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (http:\/\/\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}

/**
 * A client transport that starts the package bin in stdio mode, as a client configuration does. `env`
 * adds to a minimal environment (PATH, HOME, LOG_LEVEL=warn); `stderr: 'pipe'` keeps the server's log
 * readable from `transport.stderr`.
 */
export function stdioBinTransport(env: Record<string, string>, stderr: 'ignore' | 'pipe' = 'ignore'): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_BIN, '--stdio'],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
    stderr,
  });
}
