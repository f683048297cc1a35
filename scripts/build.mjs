// Compile src/, tools/ and resources/ to dist/ (what the package bin runs), bundle the MCP App view
// (ui/ → dist/ui/), compile the tools' output validators (dist/src/output-validators.cjs), then stamp the
// build so the bin can tell a fresh build from a stale one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildView } from './build-view.mjs';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
mkdirSync('dist', { recursive: true });
await buildValidators();
await buildView();
writeFileSync('dist/.build-stamp', `${new Date().toISOString()}\n`);

/**
 * Every tool's output validator compiled now, into dist/src/output-validators.cjs, so the server loads
 * them instead of compiling each (5–60 ms in one piece) while it serves (src/json-schema.ts).
 */
async function buildValidators() {
  const { outputJsonSchemas, precompiledSource, PRECOMPILED_FILE } = await import('../dist/src/json-schema.js');
  await import('../dist/tools/index.js');
  const schemas = outputJsonSchemas();
  writeFileSync(`dist/src/${PRECOMPILED_FILE}`, await precompiledSource(schemas));
  console.log(`output validators: ${schemas.length} compiled into dist/src/${PRECOMPILED_FILE}`);
}
