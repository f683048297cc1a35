import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentVersion, readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { tinySnapshot } from './helpers/tiny-snapshot.js';

/**
 * A full disk during a publish: the files named by `full` are written to /dev/full instead, so the kernel
 * answers them with a real ENOSPC (no root, no tmpfs needed).
 */
const full = vi.hoisted(() => ({ match: null as RegExp | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile: typeof fs.writeFile = (path, data, options) =>
    full.match?.test(String(path)) ? fs.writeFile('/dev/full', data, options) : fs.writeFile(path, data, options);
  return { ...fs, default: { ...fs, writeFile }, writeFile };
});
// The column segments are written synchronously as they are encoded (node:fs).
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync: typeof fs.openSync = (path, flags, mode) => fs.openSync(full.match?.test(String(path)) ? '/dev/full' : path, flags, mode);
  return { ...fs, default: { ...fs, openSync }, openSync };
});

describe('a full disk while a snapshot is written', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'snap-full-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    full.match = null;
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it.each([
    ['the column segments', /columns\.bin$/],
    ['the manifest', /manifest\.json$/],
    ['the CURRENT pointer', /\.CURRENT-[0-9a-f]+$/],
  ])('fails on %s with one line naming the path and ENOSPC, removes its temp files, keeps the previous snapshot current', async (_what, match) => {
    const dir = tmp();
    const before = await writeSnapshot(dir, tinySnapshot('kept'));
    full.match = match;
    const err = await writeSnapshot(dir, tinySnapshot('lost')).then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(/ENOSPC/);
    expect(err!.message).toContain(dir);
    expect(err!.message).toContain(`snapshot ${before} is still current`);
    expect(err!.message).not.toContain('\n');
    expect(readdirSync(dir).sort()).toEqual([before, 'CURRENT'].sort());
    expect(await currentVersion(dir)).toBe(before);
    expect((await readSnapshot(dir)).tracks.track_name).toEqual(['kept']);
  });

  it('says nothing is published when the very first write fails', async () => {
    const dir = tmp();
    full.match = /columns\.bin$/;
    await expect(writeSnapshot(dir, tinySnapshot('first'))).rejects.toThrow(/ENOSPC.*nothing is published yet/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
