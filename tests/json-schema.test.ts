import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { compileOutputValidators, JSON_SCHEMA_VALIDATOR, outputSchemaOf } from '../src/json-schema.js';

/**
 * Tools hand the SDK their output schema as compiled JSON Schema (src/json-schema.ts): clients must see the
 * schema zod writes, and an answer that does not fit it must still be refused by the server.
 */
describe('output schemas as compiled JSON Schema', () => {
  const output = z.object({ tracks: z.array(z.object({ id: z.string(), year: z.number().int().nullable() })), note: z.string().optional() });

  async function serve(answer: unknown) {
    const server = new McpServer({ name: 't', version: '1' }, { capabilities: { tools: {} }, jsonSchemaValidator: JSON_SCHEMA_VALIDATOR });
    server.registerTool('t', { inputSchema: z.object({}), outputSchema: outputSchemaOf(output) }, async () => ({
      content: [{ type: 'text', text: 'answer' }],
      structuredContent: answer as Record<string, unknown>,
    }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'c', version: '1' }, { supportedProtocolVersions: ['2025-11-25'] });
    await client.connect(clientSide);
    return client;
  }

  it('lists the JSON Schema zod writes for the output', async () => {
    const client = await serve({ tracks: [] });
    const { tools } = await client.listTools();
    expect(tools[0]!.outputSchema).toEqual(output['~standard'].jsonSchema.output({ target: 'draft-2020-12' }));
  });

  it('passes an answer that fits and refuses one that does not, naming the tool', async () => {
    const fits = await serve({ tracks: [{ id: 'a', year: null }, { id: 'b', year: 1999 }], note: 'ok' });
    expect(((await fits.callTool({ name: 't', arguments: {} })) as { isError?: boolean }).isError).toBeFalsy();
    const wrong = await serve({ tracks: [{ id: 'a', year: 1999.5 }] });
    const r = (await wrong.callTool({ name: 't', arguments: {} })) as { isError?: boolean; content: { text: string }[] };
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/Output validation error.*\bt\b/);
  });
});

describe('output validators compiled ahead of the first call', () => {
  it('compiles each pending validator once, so a later answer check compiles nothing', async () => {
    const schema = outputSchemaOf(z.object({ n: z.number().int() }));
    expect(await compileOutputValidators()).toBeGreaterThanOrEqual(1);
    const getValidator = vi.spyOn(JSON_SCHEMA_VALIDATOR, 'getValidator');
    try {
      expect(await schema['~standard'].validate({ n: 1 })).toEqual({ value: { n: 1 } });
      expect((await schema['~standard'].validate({ n: 1.5 })).issues).toBeDefined();
      expect(getValidator).not.toHaveBeenCalled();
      expect(await compileOutputValidators()).toBe(0);
    } finally {
      getValidator.mockRestore();
    }
  });
});
