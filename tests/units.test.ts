import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { currentVersion, readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { closest, editDistance, fold, genreKey } from '../src/catalog/text.js';
import { DEFAULT_DATASET_URL, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { createLogger, silentLogger } from '../src/log.js';
import { tinySnapshot } from './helpers/tiny-snapshot.js';

describe('name folding', () => {
  it('ignores case, accents and extra whitespace', () => {
    expect(fold('  Beyoncé ')).toBe('beyonce');
    expect(fold('Mötley  Crüe')).toBe('motley crue');
    expect(fold('TIËSTO')).toBe('tiesto');
  });
  it('makes genre keys insensitive to spaces, hyphens and underscores', () => {
    expect(genreKey('Hip Hop')).toBe(genreKey('hip-hop'));
    expect(genreKey('hip_hop')).toBe('hiphop');
    expect(genreKey('R & B')).toBe('r&b');
  });
  it('measures edit distance and ranks close names first', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'xyz', 1)).toBe(2);
    expect(closest('martin garix', ['artin', 'martin garrix', 'martina', 'queen'])[0]).toBe('martin garrix');
    expect(closest('beyon', ['queen', 'beyonce'])).toEqual(['beyonce']);
    expect(closest('zzzzzzzz', ['queen', 'abba'])).toEqual([]);
  });
});

describe('configuration', () => {
  it('defaults to the seed dataset URL and a per-user data dir', () => {
    const c = loadConfig({ HOME: '/home/u' }, '/x');
    expect(c.dataset).toBe(DEFAULT_DATASET_URL);
    expect(c.duckdbPath).toBe(join(c.dataDir, 'warehouse.duckdb'));
    expect(c.snapshotDir).toBe(join(c.dataDir, 'snapshots'));
  });
  it('resolves relative paths against the working directory', () => {
    const c = loadConfig({ MUSIC_DATA_DIR: 'data', MUSIC_DATASET: 'songs.csv' }, '/srv/app');
    expect(c.dataDir).toBe('/srv/app/data');
    expect(c.dataset).toBe('/srv/app/songs.csv');
  });
  it('reads an empty data dir or dataset as unset (a desktop client passes blank install fields as empty strings)', () => {
    const c = loadConfig({ HOME: '/home/u', MUSIC_DATA_DIR: '', MUSIC_DATASET: '  ' }, '/x');
    expect(c.dataDir).toBe(loadConfig({ HOME: '/home/u' }, '/x').dataDir);
    expect(c.dataset).toBe(DEFAULT_DATASET_URL);
  });
  it('fails fast listing every bad key', () => {
    try {
      loadConfig({ LOG_LEVEL: 'loud', MUSIC_SNAPSHOT_POLL_MS: 'soon' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('LOG_LEVEL');
      expect(msg).toContain('MUSIC_SNAPSHOT_POLL_MS');
    }
  });
});

describe('logging', () => {
  it('redacts secrets and tokens', () => {
    let out = '';
    const sink = new Writable({ write(chunk, _e, cb) { out += chunk.toString(); cb(); } });
    const log = createLogger('info', sink as never);
    log.info({ token: 'abc123', headers: { authorization: 'Bearer xyz789' }, client: { clientSecret: 's3cr3t' } }, 'hello');
    expect(out).toContain('hello');
    expect(out).not.toMatch(/abc123|xyz789|s3cr3t/);
    expect(out).toContain('[redacted]');
  });
});

describe('serving snapshots', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'snap-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('publishes atomically and keeps a bounded history', async () => {
    const dir = tmp();
    expect(await currentVersion(dir)).toBeNull();
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) versions.push(await writeSnapshot(dir, tinySnapshot(`song ${i}`), 3));
    expect(await currentVersion(dir)).toBe(versions[4]);
    expect((await readSnapshot(dir)).tracks.track_name).toEqual(['song 4']);
    expect(readdirSync(dir).filter((n) => !n.startsWith('.') && n !== 'CURRENT')).toHaveLength(3);
  });

  it('explains how to fix a missing or corrupt snapshot', async () => {
    const dir = tmp();
    await expect(readSnapshot(dir)).rejects.toThrow(/no published snapshot .*npm run pipeline/);
    const v = await writeSnapshot(dir, tinySnapshot('x'));
    writeFileSync(join(dir, v, 'columns.bin'), 'not columns');
    await expect(readSnapshot(dir)).rejects.toThrow(/unreadable.*republish/);
  });

  it('swaps to a newly published snapshot and keeps the old one when the new one is broken', async () => {
    const dir = tmp();
    await writeSnapshot(dir, tinySnapshot('first'));
    const holder = new CatalogHolder(dir, silentLogger);
    await holder.load();
    const changed = new Promise((resolve) => holder.once('changed', resolve));
    holder.watch(50);
    await writeSnapshot(dir, tinySnapshot('second'));
    await changed;
    const state = holder.current;
    expect(state.status === 'ready' && state.catalog.trackName(0)).toBe('second');
    const v = await writeSnapshot(dir, tinySnapshot('third'));
    writeFileSync(join(dir, v, 'columns.bin'), 'broken');
    await new Promise((r) => setTimeout(r, 200));
    const after = holder.current;
    expect(after.status === 'ready' && after.catalog.trackName(0)).toBe('second');
    holder.close();
  });
});
