import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (the folder holding package.json), found from this module whether it runs as
 * TypeScript from src/ or compiled from dist/src/.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dbt'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const PROJECT_ROOT = findRoot();

/** The dbt project shipped with the package. */
export const DBT_PROJECT_DIR = join(PROJECT_ROOT, 'dbt');
