import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { startHttpServer, type RunningHttpServer } from '../src/http.js';
import { silentLogger } from '../src/log.js';
import { REPO_ROOT } from './helpers/dataset.js';

// A client nobody on this project wrote: the official conformance suite (the MCP Inspector: tests/inspector.test.ts).
const run = promisify(execFile);
const CONFORMANCE = join(REPO_ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const dataDir = inject('builtDataDir');
const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };

let http: RunningHttpServer;
beforeAll(async () => {
  const holder = CatalogHolder.of(new Catalog(await readSnapshot(join(dataDir, 'snapshots'))), silentLogger);
  http = await startHttpServer({ catalog: holder, log: silentLogger, toolWaitMs: 5_000, http: loadConfig({ MCP_HTTP_PORT: '0' }).http });
});
afterAll(async () => http.close(1_000));

describe('official conformance suite (@modelcontextprotocol/conformance 0.1.13)', () => {
  it('passes every scenario except the fixture-dependent ones listed in the baseline', async () => {
    const result = await run(process.execPath, [CONFORMANCE, 'server', '--url', http.url, '--expected-failures', join(REPO_ROOT, 'conformance/expected-failures.yml')], {
      cwd: REPO_ROOT,
      env: childEnv,
      timeout: 240_000,
    }).catch((err: { stdout: string; stderr: string; code: number }) => err);
    expect(result.stdout).toMatch(/Baseline check passed/);
    expect(result.stdout).toMatch(/✓ server-initialize/);
    expect(result.stdout).toMatch(/✓ dns-rebinding-protection/);
  }, 300_000);
});
