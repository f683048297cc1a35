import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from './helpers/dataset.js';

describe('npm run smoke (the deployment check users run)', () => {
  it('connects over stdio, exercises every tool and reports all checks passing', () => {
    const r = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'scripts/smoke.ts'), '--stdio'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, MUSIC_DATA_DIR: inject('builtDataDir'), LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/recommend_by_genre .* ok /);
    expect(r.stdout).toMatch(/artist_metadata .* ok /);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  }, 150_000);

  it('fails with a non-zero exit and a FAIL row when the server cannot be reached', () => {
    const r = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'scripts/smoke.ts'), '--url', 'http://127.0.0.1:9/mcp'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/connect http:\/\/127\.0\.0\.1:9\/mcp\s+FAIL/);
  }, 90_000);
});
