import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { CatalogHolder } from '../../src/catalog/holder.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { silentLogger } from '../../src/log.js';
import { createServer, type ServerDeps } from '../../src/server.js';

export type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

/** Runs a tool through `client` and types its answer. */
const toolCaller = (client: Client) => async (tool: string, args: Record<string, unknown>) =>
  (await client.callTool({ name: tool, arguments: args })) as ToolResult;

/** A real Client talking to a server in this process; `call` runs a tool, `close()` ends both. */
export interface MemoryConnection {
  client: Client;
  call: (tool: string, args: Record<string, unknown>) => Promise<ToolResult>;
  close: () => Promise<void>;
}

/**
 * A server over `holder` (loaded or still loading; the caller keeps and closes it) and a real Client
 * (`client`, or a new one of that name) linked to it in memory. `deps` override the defaults (a silent
 * log, tools that do not wait for a build). The client lists the tools once, so it validates every
 * structuredContent against its outputSchema.
 */
export async function connectInMemory(
  holder: CatalogHolder,
  client: Client | string,
  deps: Partial<Omit<ServerDeps, 'catalog'>> = {},
): Promise<MemoryConnection> {
  const { server, cleanup } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 0, ...deps });
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  if (typeof client === 'string') client = new Client({ name: client, version: '1.0.0' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  await client.listTools();
  return {
    client,
    call: toolCaller(client),
    async close() {
      await client.close();
      await cleanup();
    },
  };
}

/**
 * A server over the snapshot in `dataDir` and a real Client linked to it in memory. `open()` loads the
 * catalog and connects (call it in beforeAll); `close()` ends both.
 */
export function memoryClient(dataDir: string, name: string) {
  const holder = new CatalogHolder(join(dataDir, 'snapshots'), silentLogger);
  const client = new Client({ name, version: '1.0.0' });
  let connection: MemoryConnection | null = null;
  return {
    client,
    call: toolCaller(client),
    catalog(): Catalog {
      const state = holder.current;
      if (state.status !== 'ready') throw new Error('catalog not ready');
      return state.catalog;
    },
    async open(): Promise<void> {
      if (!(await holder.load())) throw new Error(`no snapshot under ${dataDir}`);
      connection = await connectInMemory(holder, client);
    },
    async close(): Promise<void> {
      await connection?.close();
      holder.close();
    },
  };
}
