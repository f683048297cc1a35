/**
 * The reference for bench/http-load.ts: the smallest stateless Streamable HTTP MCP server the SDK makes,
 * with one trivial tool (`echo`), built only from @modelcontextprotocol/server and @modelcontextprotocol/node
 * as their READMEs show: `createMcpHandler` (2026-07-28 requests, and 2025-era requests through its
 * stateless legacy fallback, a server per request in both eras) adapted to node:http by `toNodeHandler`,
 * with the SDK's localhost Host/Origin guards in front. No catalog, no logging, no pool.
 *
 *   node --import tsx bench/minimal-sdk-server.ts            # MCP_HTTP_PORT (default 0 = any free port)
 *
 * Prints `listening at http://127.0.0.1:PORT/mcp` on stderr, as the product's server does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localhostHostValidation, localhostOriginValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';

function echoServer(): McpServer {
  const server = new McpServer({ name: 'minimal-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns its text argument.',
      inputSchema: z.object({ text: z.string().max(1_000).describe('what to return') }),
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

const handler = toNodeHandler(createMcpHandler(() => echoServer()));
const validateHost = localhostHostValidation();
const validateOrigin = localhostOriginValidation();

const http = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  if (path !== '/mcp') return void res.writeHead(404).end();
  if (!validateHost(req, res) || !validateOrigin(req, res)) return;
  void handler(req, res);
});
http.keepAliveTimeout = 30_000;
http.listen(Number(process.env.MCP_HTTP_PORT ?? 0), '127.0.0.1', () => {
  process.stderr.write(`minimal SDK server listening at http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp\n`);
});
process.once('SIGTERM', () => http.close(() => process.exit(0)));
