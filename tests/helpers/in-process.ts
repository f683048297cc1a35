import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, expect } from 'vitest';
import { CatalogHolder } from '../../src/catalog/holder.js';
import { silentLogger } from '../../src/log.js';
import { createServer } from '../../src/server.js';

export type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

/**
 * A client connected in-process to a server on the snapshots of `dataDir`, set up in beforeAll and
 * closed in afterAll of the calling suite. The client has listed the tools, so it validates every
 * structuredContent against the tool's outputSchema.
 */
export function inProcessClient(dataDir: string, name: string) {
  const holder = new CatalogHolder(join(dataDir, 'snapshots'), silentLogger);
  const client = new Client({ name, version: '1.0.0' });
  beforeAll(async () => {
    expect(await holder.load()).toBe(true);
    const { server } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 0 });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    await client.listTools();
  });
  afterAll(async () => {
    await client.close();
    holder.close();
  });
  const call = async (tool: string, args: Record<string, unknown>) => (await client.callTool({ name: tool, arguments: args })) as ToolResult;
  return { client, holder, call };
}
