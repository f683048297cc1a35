import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { writeSnapshot } from '../src/catalog/snapshot.js';
import { createLogger } from '../src/log.js';
import { tinySnapshot } from './helpers/tiny-snapshot.js';

/** Every openUnverified call, by version: how often the holder opens and reads a snapshot. */
const reads = vi.hoisted(() => new Map<string, number>());
vi.mock('../src/catalog/snapshot.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../src/catalog/snapshot.js')>();
  return {
    ...mod,
    openUnverified: (dir: string, version?: string) => {
      reads.set(version ?? '', (reads.get(version ?? '') ?? 0) + 1);
      return mod.openUnverified(dir, version);
    },
  };
});

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a broken publish while serving', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    cleanups.splice(0).forEach((c) => c());
    reads.clear();
  });

  /** A holder serving a good snapshot ('first'), polling every POLL_MS, with its log lines and 'changed' events counted. */
  async function serving() {
    const dir = mkdtempSync(join(tmpdir(), 'snap-reload-'));
    await writeSnapshot(dir, tinySnapshot('first'));
    const lines: { level: number; msg: string; err?: string }[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(...chunk.toString().trim().split('\n').map((l: string) => JSON.parse(l))); cb(); } });
    const holder = new CatalogHolder(dir, createLogger('info', sink as never));
    await holder.load();
    let changes = 0;
    holder.on('changed', () => changes++);
    holder.watch(POLL_MS);
    cleanups.push(() => {
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const trackName = () => {
      const s = holder.current;
      return s.status === 'ready' ? s.catalog.trackName(0) : s.status;
    };
    return { dir, lines, holder, trackName, changes: () => changes };
  }

  it('reads a corrupt snapshot a bounded number of times over many polls, logs it once, keeps answering from the old one', async () => {
    const s = await serving();
    const broken = await writeSnapshot(s.dir, tinySnapshot('second'));
    writeFileSync(join(s.dir, broken, 'columns.bin'), 'not columns');
    await sleep(100 * POLL_MS); // 100 polls
    // Doubling from one poll interval: about log2(100) + 1 attempts, however slow the host is.
    expect(reads.get(broken)).toBeGreaterThanOrEqual(1);
    expect(reads.get(broken)).toBeLessThanOrEqual(9);
    const errors = s.lines.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.err).toContain(`snapshot ${broken} is unreadable`);
    expect(errors[0]!.msg).toMatch(/still serving/);
    expect(s.trackName()).toBe('first');
    expect(s.changes()).toBe(0);

    // A new publish is tried at once, not after the backoff.
    const changed = new Promise((resolve) => s.holder.once('changed', resolve));
    await writeSnapshot(s.dir, tinySnapshot('third'));
    await changed;
    expect(s.trackName()).toBe('third');
  });

  it('retries a snapshot rewritten in place without waiting for the backoff', async () => {
    const s = await serving();
    const version = await writeSnapshot(s.dir, tinySnapshot('second'));
    const file = join(s.dir, version, 'columns.bin');
    const good = readFileSync(file);
    writeFileSync(file, 'half');
    await sleep(60 * POLL_MS);
    const changed = new Promise((resolve) => s.holder.once('changed', resolve));
    writeFileSync(file, good);
    await changed;
    expect(s.trackName()).toBe('second');
  });

  it('treats a manifest version that differs from its directory as broken: no reload loop, no repeated list_changed', async () => {
    const s = await serving();
    const version = await writeSnapshot(s.dir, tinySnapshot('renamed'));
    const file = join(s.dir, version, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    manifest.version = 'some-other-version';
    writeFileSync(file, JSON.stringify(manifest));
    await sleep(100 * POLL_MS);
    expect(s.changes()).toBe(0);
    expect(reads.get(version)).toBeLessThanOrEqual(9);
    const errors = s.lines.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.err).toMatch(/directory .* holds a manifest for version "some-other-version".*republish/);
    expect(s.trackName()).toBe('first');
  });
});
