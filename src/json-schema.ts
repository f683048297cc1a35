import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fromJsonSchema, type JsonSchemaType, type JsonSchemaValidator, type jsonSchemaValidator, type StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { z } from 'zod';
import { runSliced } from './catalog/slices.js';

/** A validator function as Ajv's standalone code exports it: true or false, with `errors` set after false. */
interface CompiledCheck {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** The file `npm run build` writes beside the compiled form of this module: every tool's output validator, compiled. */
export const PRECOMPILED_FILE = 'output-validators.cjs';

/** The name a compiled validator has in PRECOMPILED_FILE: a digest of the JSON Schema it checks. */
export function schemaKey(schema: JsonSchemaType): string {
  return `v${createHash('sha256').update(JSON.stringify(schema)).digest('hex').slice(0, 40)}`;
}

/** The validators of PRECOMPILED_FILE beside this module, or none (run from the TypeScript sources, or not built). */
function loadPrecompiled(): Record<string, CompiledCheck> {
  try {
    return createRequire(import.meta.url)(`./${PRECOMPILED_FILE}`) as Record<string, CompiledCheck>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return {};
    throw err;
  }
}

/**
 * JSON Schema validation that takes a schema's validator from the ones `npm run build` compiled
 * (PRECOMPILED_FILE, found by the schema's digest, so a schema changed since the build is never checked
 * by an old validator) and compiles any other with Ajv, as the SDK's own validator does. Compiling is
 * one uninterruptible piece of 5–60 ms per schema (Ajv writes the validator's code and evaluates it);
 * loading the six compiled ones is about 6 ms (docs/BENCHMARKS.md, "Issue 16, fourth pass").
 */
export class OutputValidators implements jsonSchemaValidator {
  private compiled: Record<string, CompiledCheck> | undefined;
  constructor(
    private readonly fallback: jsonSchemaValidator = new AjvJsonSchemaValidator(),
    private readonly load: () => Record<string, CompiledCheck> = loadPrecompiled,
  ) {}

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const check = (this.compiled ??= this.load())[schemaKey(schema)];
    if (!check) return this.fallback.getValidator<T>(schema);
    return (input) =>
      check(input)
        ? { valid: true, data: input as T, errorMessage: undefined }
        : // Worded as Ajv's errorsText() words it, as the SDK's validator reports a failed check.
          { valid: false, data: undefined, errorMessage: (check.errors ?? []).map((e) => `data${e.instancePath} ${e.message ?? ''}`).join(', ') || 'No errors' };
  }
}

/** One JSON Schema validator for every server and tool built here (a fresh Ajv per server is costly to build). */
export const JSON_SCHEMA_VALIDATOR = new OutputValidators();

/** Every output schema made here, with its validator made on first use. */
const SCHEMAS: { json: () => JsonSchemaType; check: () => unknown }[] = [];
/** Of those, the ones whose validator may not be made yet (compileOutputValidators empties it). */
const UNCOMPILED: (() => unknown)[] = [];

/** The JSON Schema of every output schema made so far (what the build compiles). */
export function outputJsonSchemas(): JsonSchemaType[] {
  return SCHEMAS.map((s) => s.json());
}

/**
 * Make every output validator not made yet, in slices of the event loop (catalog/slices.ts). A validator the build did
 * not compile is compiled here (5–60 ms in one piece); left to a tool's first call, that lands in the
 * call and holds every other request behind it. The server runs this once its first catalog's indexes
 * are in (main.ts).
 */
export function compileOutputValidators(): Promise<number> {
  return runSliced(
    (function* () {
      let n = 0;
      for (let check = UNCOMPILED.shift(); check; check = UNCOMPILED.shift()) {
        yield;
        check();
        n++;
      }
      return n;
    })(),
  );
}

/**
 * A tool's output schema as the SDK takes it: the JSON Schema zod writes for `schema` (the one tools/list
 * publishes, as before), checked against each answer's structuredContent by the validator compiled from
 * that JSON Schema rather than by zod. Same schema, same check; the compiled validator costs a fraction of
 * a zod parse over an answer of 10–100 tracks (docs/BENCHMARKS.md, "recommend_by_genre under 1 ms").
 * Both the JSON Schema and the validator are made on first use, not when a tool module is imported:
 * made eagerly for every tool they held up the server's answer to `initialize`.
 */
export function outputSchemaOf<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.output<S>, z.output<S>> {
  let json: JsonSchemaType | undefined;
  let compiled: StandardSchemaWithJSON<z.output<S>, z.output<S>> | undefined;
  const jsonOf = () => (json ??= schema['~standard'].jsonSchema.output({ target: 'draft-2020-12' }) as JsonSchemaType);
  const check = () => (compiled ??= fromJsonSchema<z.output<S>>(jsonOf(), JSON_SCHEMA_VALIDATOR));
  SCHEMAS.push({ json: jsonOf, check });
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

/**
 * The source of PRECOMPILED_FILE for these schemas: Ajv's standalone code (CommonJS), one export per
 * schema named by schemaKey, compiled with the options the SDK's validator uses. Build time only (Ajv is
 * a development dependency); throws if the code would need a module at run time, which an installed
 * server may not have.
 */
export async function precompiledSource(schemas: readonly JsonSchemaType[]): Promise<string> {
  const [{ Ajv2020 }, formats, standalone] = await Promise.all([import('ajv/dist/2020.js'), import('ajv-formats'), import('ajv/dist/standalone/index.js')]);
  // CommonJS modules whose `exports.default` is the function: the ESM default is their whole exports object.
  const addFormats = formats.default.default;
  const standaloneCode = standalone.default.default;
  const ajv = new Ajv2020({ strict: false, validateFormats: true, validateSchema: false, allErrors: true, code: { source: true, esm: false } });
  addFormats(ajv);
  const refs: Record<string, string> = {};
  for (const schema of schemas) {
    const key = schemaKey(schema);
    if (refs[key]) continue;
    ajv.addSchema({ ...(schema as object), $id: `music-mcp-server:${key}` });
    refs[key] = `music-mcp-server:${key}`;
  }
  const code = standaloneCode(ajv, refs);
  const needs = code.match(/require\([^)]*\)/g);
  if (needs) throw new Error(`the compiled output validators would need ${[...new Set(needs)].join(', ')} at run time; keep the output schemas to what compiles without them`);
  return code;
}
