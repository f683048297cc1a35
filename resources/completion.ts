import { isCompletable, type CompleteCallback, type CompleteResult, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { unknownEntry } from '../src/catalog/unknown-name.js';
import { unknownArguments, type ToolDeps } from '../tools/shared.js';
import type { ResourceRegistry } from './index.js';
import { promptArguments } from './prompts.js';
import { invalid } from './uri.js';

/**
 * The completion callback of a prompt argument schema: `completable(schema, cb)`, possibly made optional
 * around it. The SDK keeps the callback under a registered symbol and exports no reader for it.
 */
function completerOf(field: unknown): CompleteCallback | undefined {
  const inner = field instanceof z.ZodOptional ? field.unwrap() : field;
  if (!isCompletable(inner)) return undefined;
  return (inner as unknown as Record<symbol, { complete?: CompleteCallback }>)[Symbol.for('mcp.completable')]?.complete;
}

/** Values in one completion answer (the MCP limit). */
const MAX_VALUES = 100;

const answer = (values: string[]): CompleteResult => ({
  completion: { values: values.slice(0, MAX_VALUES), total: values.length, hasMore: values.length > MAX_VALUES },
});

/**
 * completion/complete over this server's prompts and resource templates, replacing the SDK's handler (so
 * call it after both are registered):
 * an unknown prompt, template or argument name is refused with -32602 naming it and the valid ones
 * (the SDK answered an argument it does not know with nothing, and `__proto__` with -32603).
 */
export function registerCompletion(server: McpServer, deps: ToolDeps, { templates, fixedUris }: ResourceRegistry): void {
  const prompts = promptArguments(deps);
  const byUri = new Map(templates.map((t) => [t.resourceTemplate.uriTemplate.toString(), t]));
  server.server.setRequestHandler('completion/complete', async (request) => {
    const { ref, argument, context } = request.params;
    if (ref.type === 'ref/prompt') {
      const shape = prompts.get(ref.name);
      if (!shape) throw invalid(unknownEntry('prompt', ref.name, [...prompts.keys()]));
      if (!Object.hasOwn(shape, argument.name)) throw invalid(`prompt ${ref.name}: ${unknownArguments([argument.name], Object.keys(shape))}`);
      const field = shape[argument.name];
      const complete = completerOf(field);
      return answer(complete ? ((await complete(argument.value, context)) as string[]) : []);
    }
    const template = byUri.get(ref.uri);
    if (!template) {
      if (fixedUris.has(ref.uri)) return answer([]); // a fixed URI has nothing to complete
      throw invalid(unknownEntry('resource template', ref.uri, [...byUri.keys()]));
    }
    const variables = template.resourceTemplate.uriTemplate.variableNames;
    if (!variables.includes(argument.name)) throw invalid(`template ${ref.uri}: ${unknownArguments([argument.name], variables)}`);
    const complete = template.resourceTemplate.completeCallback(argument.name);
    return answer(complete ? await complete(argument.value, context) : []);
  });
}
