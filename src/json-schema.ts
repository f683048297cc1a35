import { fromJsonSchema, type JsonSchemaType, type StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { z } from 'zod';

/** One JSON Schema validator for every server and tool built here (a fresh Ajv per server is costly to build). */
export const JSON_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/** Output schemas whose validator may not be compiled yet (compileOutputValidators empties it). */
const UNCOMPILED: (() => unknown)[] = [];

/**
 * Compile every output validator not compiled yet, one per turn of the event loop. A compile is one
 * uninterruptible piece of 5–60 ms (Ajv generates and evaluates the validator's code); left to a tool's
 * first call, it lands in that call and holds every other request behind it. The server runs this once its
 * first catalog's indexes are in (main.ts).
 */
export async function compileOutputValidators(): Promise<number> {
  let n = 0;
  for (let check = UNCOMPILED.shift(); check; check = UNCOMPILED.shift()) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    check();
    n++;
  }
  return n;
}

/**
 * A tool's output schema as the SDK takes it: the JSON Schema zod writes for `schema` (the one tools/list
 * publishes, as before), checked against each answer's structuredContent by the validator compiled from
 * that JSON Schema rather than by zod. Same schema, same check; the compiled validator costs a fraction of
 * a zod parse over an answer of 10–100 tracks (docs/BENCHMARKS.md, "recommend_by_genre under 1 ms").
 * Both the JSON Schema and the compiled validator are made on first use, not when a tool module is
 * imported: made eagerly for every tool they held up the server's answer to `initialize`.
 */
export function outputSchemaOf<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.output<S>, z.output<S>> {
  let json: JsonSchemaType | undefined;
  let compiled: StandardSchemaWithJSON<z.output<S>, z.output<S>> | undefined;
  const jsonOf = () => (json ??= schema['~standard'].jsonSchema.output({ target: 'draft-2020-12' }) as JsonSchemaType);
  const check = () => (compiled ??= fromJsonSchema<z.output<S>>(jsonOf(), JSON_SCHEMA_VALIDATOR));
  UNCOMPILED.push(check);
  return {
    '~standard': {
      version: 1,
      vendor: 'music-mcp-server',
      jsonSchema: { input: () => jsonOf(), output: () => jsonOf() },
      validate: (value) => check()['~standard'].validate(value),
    },
  };
}
