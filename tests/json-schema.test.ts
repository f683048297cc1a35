import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer, type JsonSchemaType } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  compileOutputValidators,
  JSON_SCHEMA_VALIDATOR,
  OutputValidators,
  outputJsonSchemas,
  outputSchemaOf,
  PRECOMPILED_FILE,
  precompiledSource,
  schemaKey,
} from '../src/json-schema.js';
import { REPO_ROOT } from './helpers/dataset.js';

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

describe('output validators compiled at build time', () => {
  const output = z.object({ tracks: z.array(z.object({ id: z.string(), year: z.number().int().nullable() })).min(1), note: z.string().optional() });
  const json = output['~standard'].jsonSchema.output({ target: 'draft-2020-12' }) as JsonSchemaType;
  const dir = mkdtempSync(join(tmpdir(), 'music-validators-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checks with the compiled validator, not a new compile, and words a failure as Ajv does', async () => {
    const file = join(dir, 'v.cjs');
    writeFileSync(file, await precompiledSource([json]));
    const fallback = new AjvJsonSchemaValidator();
    const compiles = vi.spyOn(fallback, 'getValidator');
    const check = new OutputValidators(fallback, () => createRequire(import.meta.url)(file)).getValidator(json);
    expect(compiles).not.toHaveBeenCalled();
    const reference = new AjvJsonSchemaValidator().getValidator(json);
    for (const answer of [{ tracks: [{ id: 'a', year: null }] }, { tracks: [] }, { tracks: [{ id: 1, year: 1999.5 }], note: 3 }, 'text']) {
      expect(check(answer), JSON.stringify(answer)).toEqual(reference(answer));
    }
    expect(check({ tracks: [] }).errorMessage).toMatch(/data\/tracks must NOT have fewer than 1 items/);
  });

  it('compiles a schema the build did not see (or saw in another wording), as before', async () => {
    const other = z.object({ n: z.number() })['~standard'].jsonSchema.output({ target: 'draft-2020-12' }) as JsonSchemaType;
    const file = join(dir, 'other.cjs');
    writeFileSync(file, await precompiledSource([other]));
    const fallback = new AjvJsonSchemaValidator();
    const compiles = vi.spyOn(fallback, 'getValidator');
    const check = new OutputValidators(fallback, () => createRequire(import.meta.url)(file)).getValidator(json);
    expect(compiles).toHaveBeenCalledTimes(1);
    expect(check({ tracks: [] }).valid).toBe(false);
  });

  it("the build compiled every tool's output schema as the sources write it (run `npm run build` after changing one)", async () => {
    // The tool modules make their output schemas when imported (first imported here, in this file).
    const before = outputJsonSchemas().length;
    await import('../tools/index.js');
    const keys = outputJsonSchemas().slice(before).map(schemaKey);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    const built = createRequire(import.meta.url)(join(REPO_ROOT, 'dist/src', PRECOMPILED_FILE)) as Record<string, unknown>;
    for (const key of keys) expect(typeof built[key], key).toBe('function');
  });
});
