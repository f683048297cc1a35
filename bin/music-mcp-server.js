#!/usr/bin/env node
// Package bin: runs the compiled server (dist/, built by `npm run build`, which `npm ci` runs) when it
// is at least as new as every source file; otherwise runs the TypeScript sources through tsx.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function freshBuild() {
  try {
    const built = statSync(join(root, 'dist/.build-stamp')).mtimeMs;
    return ['src', 'tools', 'resources'].every((d) => newestSource(join(root, d)) <= built);
  } catch {
    return false;
  }
}

if (freshBuild()) {
  await import(pathToFileURL(join(root, 'dist/src/main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src/main.ts')).href);
}
