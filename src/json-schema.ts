import { fromJsonSchema, type JsonSchemaType, type StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { z } from 'zod';

/** One JSON Schema validator for every server and tool built here (a fresh Ajv per server is costly to build). */
export const JSON_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/**
 * A tool's output schema as the SDK takes it: the JSON Schema zod writes for `schema` (the one tools/list
 * publishes, as before), checked against each answer's structuredContent by the validator compiled from
 * that JSON Schema rather than by zod. Same schema, same check; the compiled validator costs a fraction of
 * a zod parse over an answer of 10–100 tracks (docs/BENCHMARKS.md, "recommend_by_genre under 1 ms").
 */
export function outputSchemaOf<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.output<S>, z.output<S>> {
  const json = schema['~standard'].jsonSchema.output({ target: 'draft-2020-12' }) as JsonSchemaType;
  return fromJsonSchema<z.output<S>>(json, JSON_SCHEMA_VALIDATOR);
}
