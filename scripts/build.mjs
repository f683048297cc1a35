// Compile src/, tools/ and resources/ to dist/ (what the package bin runs), bundle the MCP App view
// (ui/ → dist/ui/), then stamp the build so the bin can tell a fresh build from a stale one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildView } from './build-view.mjs';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
mkdirSync('dist', { recursive: true });
await buildView();
writeFileSync('dist/.build-stamp', `${new Date().toISOString()}\n`);
