import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningHttpServer } from '../src/http.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { httpOverCatalog } from './helpers/served-catalog.js';
import { nodeAtLeast } from './helpers/node-runtime.js';

// The official conformance suite, scored per requirement set (the scenarios one protocol revision
// requires, frozen at its release). Its 0.2 line runs on Node >= 22.
const run = promisify(execFile);
const CONFORMANCE = join(REPO_ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const dataDir = inject('builtDataDir');

let http: RunningHttpServer;
beforeAll(async () => {
  http = await httpOverCatalog(dataDir);
});
afterAll(async () => http.close(1_000));

async function conformance(revision: string, baseline: string): Promise<string> {
  const result = await run(
    nodeAtLeast(22),
    [CONFORMANCE, 'server', '--url', http.url, '--requirements', revision, '--expected-failures', join(REPO_ROOT, 'conformance', baseline)],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
  ).catch((err: { stdout: string; stderr: string }) => err);
  return `${result.stdout}\n${result.stderr}`;
}

describe('official conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12)', () => {
  it('2025-11-25 requirements: every scenario passes except the fixture-dependent ones in the baseline', async () => {
    const out = await conformance('2025-11-25', 'expected-failures.yml');
    expect(out).toMatch(/Baseline check passed/);
    expect(out).toMatch(/✓ server-initialize/);
    expect(out).toMatch(/✓ dns-rebinding-protection/);
  }, 300_000);

  it('2026-07-28 requirements: every scenario passes except the fixture-dependent ones in the baseline', async () => {
    const out = await conformance('2026-07-28', 'expected-failures-2026-07-28.yml');
    expect(out).toMatch(/Baseline check passed/);
    expect(out).toMatch(/✓ http-header-validation/);
    expect(out).toMatch(/✓ caching/);
    expect(out).toMatch(/✓ sep-2164-resource-not-found/);
  }, 300_000);
});
