import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { CatalogHolder } from '../../src/catalog/holder.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { silentLogger } from '../../src/log.js';
import { createServer } from '../../src/server.js';

export type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

/**
 * A server over the snapshot in `dataDir` and a real Client linked to it in memory. `open()` loads the
 * catalog and connects (call it in beforeAll); `close()` ends both.
 */
export function memoryClient(dataDir: string, name: string) {
  const holder = new CatalogHolder(join(dataDir, 'snapshots'), silentLogger);
  const client = new Client({ name, version: '1.0.0' });
  return {
    client,
    call: async (tool: string, args: Record<string, unknown>) => (await client.callTool({ name: tool, arguments: args })) as ToolResult,
    catalog(): Catalog {
      const state = holder.current;
      if (state.status !== 'ready') throw new Error('catalog not ready');
      return state.catalog;
    },
    async open(): Promise<void> {
      if (!(await holder.load())) throw new Error(`no snapshot under ${dataDir}`);
      const { server } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 0 });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(a);
      await client.connect(b);
      await client.listTools(); // lets the client validate structuredContent against outputSchema
    },
    async close(): Promise<void> {
      await client.close();
      holder.close();
    },
  };
}
