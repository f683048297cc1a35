import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import type { GetPromptResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { boundParts, MOODS, type MoodBoundName } from '../src/catalog/moods.js';
import { readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { silentLogger } from '../src/log.js';
import { publishSnapshot } from '../src/pipeline/publish.js';
import { connectInMemory } from '../scripts/lib/memory-client.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { withoutStreaming } from './helpers/paged-session.js';

/**
 * The glossary's figures and the mood ranges come from the served catalog: a small catalog is generated
 * in DuckDB marts, published with the real publish step, served, and its glossary and prompts compared
 * with DuckDB's own percentiles of the same tracks.
 */

const FEATURES = ['danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'liveness', 'tempo', 'loudness'] as const;
const QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9];

/**
 * Marts for `n` tracks in three genres (a tenth without a release year), features drawn by DuckDB's seeded random(); `energy` is the SQL
 * expression for energy (so two catalogs can differ in it).
 */
async function generatedMarts(db: DuckDbSession, n: number, seed: number, energy: string): Promise<void> {
  await db.run(`select setseed(${seed})`);
  await db.run('create schema marts; create schema raw');
  await db.run(`create table marts.dim_tracks as
    select 'gen' || lpad(i::varchar, 19, '0') as track_id, 'Song ' || i as track_name, null::varchar as album_id, 'Album ' || (i % 7) as album_name,
      case when i % 10 = 0 then null else 1960 + (i * 7) % 60 end as release_year, ['Artist ' || (i % 11)] as artist_names, (i * 13) % 100 as popularity, 150000 + (i * 997) % 200000 as duration_ms,
      false as explicit, i % 12 as key, i % 2 as mode, 4 as time_signature, [['rock', 'pop', 'folk'][1 + i % 3]] as genres, []::varchar[] as subgenres,
      'gen' || lpad(i::varchar, 19, '0') as canonical_track_id, 'song' || i as song_key, false as is_folded_version,
      random() as danceability, ${energy} as energy, random() as valence, random() as acousticness, random() ^ 4 as instrumentalness,
      0.02 + random() * 0.4 as speechiness, random() ^ 2 as liveness, 60 + random() * 140 as tempo, -25 + random() * 22 as loudness
    from range(${n}) t(i)`);
  await db.run(`create table marts.bridge_track_artists as
    select track_id, lower(artist_names[1]) as artist_key, 1 as artist_position from marts.dim_tracks`);
  await db.run(`create table marts.artist_profiles as
    select lower(artist_names[1]) as artist_key, artist_names[1] as artist_name, count(*) as track_count from marts.dim_tracks group by all`);
  await db.run(`create table marts.genre_profiles as
    select genres[1] as genre, 'genre' as genre_level, null::varchar as parent_genre, count(*) as track_count, 11 as artist_count,
      ${FEATURES.map((f) => `median(${f}) as ${f}_p50`).join(', ')}
    from marts.dim_tracks group by all`);
  await db.run("create table raw.tracks as select 'generated.csv' as source_file, 'tidytuesday' as source_schema from marts.dim_tracks");
  await db.run('create table raw.track_rejects (n integer)');
}

interface Served {
  client: Client;
  /** DuckDB's percentile_cont of each feature over the published tracks, at QUANTILES. */
  percentiles: Record<string, number[]>;
  close(): Promise<void>;
}

/** Generate, publish with the real publish step, and serve a catalog. */
async function serve(seed: number, energy: string): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'knowledge-figures-'));
  const db = await DuckDbSession.open(':memory:');
  await generatedMarts(db, 400, seed, energy);
  const [row] = await db.all(`select ${[...FEATURES, 'popularity', 'duration_ms', 'release_year']
    .map((f) => `quantile_cont(${f}, [${QUANTILES.join(', ')}]) as ${f}`).join(', ')} from marts.dim_tracks`);
  await publishSnapshot({ session: db, snapshotDir: dir });
  await db.close();
  const holder = new CatalogHolder(dir, silentLogger);
  expect(await holder.load()).toBe(true);
  const connection = await connectInMemory(holder, 'knowledge-figures-test');
  return {
    client: connection.client,
    percentiles: row as Record<string, number[]>,
    close: async () => {
      await connection.close();
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const glossary = async (c: Client) => ((await c.readResource({ uri: 'music://glossary/audio-features' })).contents[0] as { text: string }).text;
const section = (md: string, heading: string) => md.split(`\n### ${heading}\n`)[1]?.split('\n#')[0] ?? '';
const promptText = (r: GetPromptResult) => (r.messages[0]!.content as { text: string }).text;

/** The recommend_by_genre call a prompt tells the model to make, parsed. */
function toolCall(text: string): Record<string, unknown> {
  const m = /Call recommend_by_genre (\{[^\n]*?\})(?= with|\. )/.exec(text);
  expect(m, text).not.toBeNull();
  return JSON.parse(m![1]!) as Record<string, unknown>;
}

/** DuckDB's percentile_cont of a feature at a percentile position, rounded the way mood bounds are (0.01; 1 BPM; 0.1 dB). */
async function duckPercentile(db: DuckDbSession, feature: string, position: number): Promise<number> {
  const [r] = await db.all<{ v: number }>(`select quantile_cont(${feature}, ${position / 100}) as v from marts.dim_tracks`);
  const step = feature === 'tempo' ? 1 : feature === 'loudness' ? 0.1 : 0.01;
  return Number((Math.round(r!.v / step) * step).toFixed(2));
}

describe('knowledge generated from the served catalog', () => {
  let a: Served;
  let b: Served;
  beforeAll(async () => {
    // Catalog b's energies are catalog a's cubed: lower percentiles everywhere, other features alike.
    [a, b] = [await serve(0.25, 'random()'), await serve(0.25, 'random() ^ 3')];
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** The five percentiles a glossary line shows equal DuckDB's, within the shown precision. */
  function expectShown(line: string, attr: string, tolerance: number) {
    const shown = [...line.matchAll(/(?:p\d\d|median) (-?\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
    expect(shown, `${attr}: ${line}`).toHaveLength(QUANTILES.length);
    shown.forEach((v, k) => expect(Math.abs(v - a.percentiles[attr]![k]!), `${attr} p${QUANTILES[k]! * 100}`).toBeLessThanOrEqual(tolerance));
  }

  it('the glossary quotes the catalog\'s actual percentiles of every feature, computed at publish', async () => {
    const md = await glossary(a.client);
    expect(md).toContain('400 tracks from «generated.csv»');
    expect(md).toContain('computed from its tracks when it was published');
    for (const f of FEATURES) {
      const line = section(md, f).split('\n').find((l) => l.startsWith('This catalog: '));
      expect(line, f).toBeDefined();
      expectShown(line!, f, f === 'tempo' || f === 'loudness' ? 0.0501 : 0.0005);
    }
    // A tenth of the tracks have no release year: its percentiles are over the others, and the line says how many.
    const year = md.split('\n').find((l) => l.startsWith('This catalog, release year: ')) ?? '';
    expect(year).toMatch(/ \(360 tracks record it\)\.$/);
    expectShown(year, 'release_year', 0.0501);
    expectShown(md.split('\n').find((l) => l.startsWith('This catalog, popularity ')) ?? '', 'popularity', 0.0501);
  });

  it('mood ranges are the catalog\'s percentiles at each mood\'s positions, and change when the catalog does', async () => {
    const [mdA, mdB] = [await glossary(a.client), await glossary(b.client)];
    const db = await DuckDbSession.open(':memory:');
    try {
      for (const [md, energy] of [[mdA, 'random()'], [mdB, 'random() ^ 3']] as const) {
        await db.run('drop schema if exists marts cascade; drop schema if exists raw cascade');
        await generatedMarts(db, 400, 0.25, energy);
        for (const m of MOODS) {
          const expected = await Promise.all(Object.entries(m.positions).map(async ([name, p]) =>
            `${name} ${await duckPercentile(db, boundParts(name as MoodBoundName)[1], p)}`));
          expect(section(md, m.mood).replace(/\s+/g, ' '), m.mood).toContain(`Bounds: ${expected.join(', ')}.`);
        }
      }
    } finally {
      await db.close();
    }
    const chillEnergy = (md: string) => Number(/Bounds: max_energy ([\d.]+)/.exec(section(md, 'chill'))![1]);
    expect(chillEnergy(mdB)).toBeLessThan(chillEnergy(mdA) / 2);
  });

  it('build_playlist passes the mood\'s bounds, tempo included, as arguments of the tool call, not prose', async () => {
    for (const served of [a, b]) {
      const md = await glossary(served.client);
      const text = promptText(await served.client.getPrompt({ name: 'build_playlist', arguments: { mood: 'relaxed', genre: 'rock', length: '12' } }));
      const call = toolCall(text);
      const bounds = section(md, 'chill').split('\n').find((l) => l.startsWith('Bounds: '))!.slice('Bounds: '.length, -1);
      const expected = Object.fromEntries(bounds.split(', ').map((kv) => kv.split(' ')).map(([k, v]) => [k, Number(v)]));
      expect(Object.keys(expected)).toContain('max_tempo');
      expect(call).toEqual({ genre: 'rock', limit: 12, ...expected });
      expect(text).not.toMatch(/aim for|under \d+ BPM/);
    }
  });

  it('every mood\'s build_playlist call is one recommend_by_genre accepts: known arguments, inside its schema\'s ranges, answered without error', async () => {
    const { tools } = await a.client.listTools();
    const schema = tools.find((t) => t.name === 'recommend_by_genre')!.inputSchema as { properties: Record<string, { type?: string; minimum?: number; maximum?: number }> };
    for (const m of MOODS) {
      for (const genre of ['folk', undefined]) {
        const text = promptText(await a.client.getPrompt({ name: 'build_playlist', arguments: { mood: m.mood, ...(genre ? { genre } : {}) } }));
        const call = toolCall(text);
        for (const [k, v] of Object.entries(call)) {
          const p = schema.properties[k];
          expect(p, `${m.mood}: ${k}`).toBeDefined();
          if (typeof v !== 'number') continue;
          expect(v, `${m.mood}: ${k}`).toBeGreaterThanOrEqual(p!.minimum ?? -Infinity);
          expect(v, `${m.mood}: ${k}`).toBeLessThanOrEqual(p!.maximum ?? Infinity);
          if (p!.type === 'integer') expect(Number.isInteger(v), `${m.mood}: ${k}`).toBe(true);
        }
        const r = await a.client.callTool({ name: 'recommend_by_genre', arguments: call });
        expect(r.isError, `${m.mood} ${genre ?? '(no genre)'}: ${JSON.stringify(r.content)}`).toBeFalsy();
      }
    }
  });

  it('publish read in 7-row keyset pages (a session that cannot stream) writes the same catalog as streamed, and leaves the session settings as they were', async () => {
    const db = await DuckDbSession.open(':memory:');
    const dirs = [mkdtempSync(join(tmpdir(), 'publish-pages-')), mkdtempSync(join(tmpdir(), 'publish-page-'))];
    const settings = () => db.all(`select current_setting('memory_limit') as m, current_setting('threads') as t, current_setting('preserve_insertion_order') as p`);
    try {
      await generatedMarts(db, 400, 0.5, 'random()');
      const before = await settings();
      await publishSnapshot({ session: withoutStreaming(db), snapshotDir: dirs[0]!, pageRows: 7 });
      await publishSnapshot({ session: db, snapshotDir: dirs[1]! });
      expect(await settings()).toEqual(before);
      const [paged, whole] = await Promise.all(dirs.map((d) => readSnapshot(d)));
      expect(paged!.tracks.track_id).toHaveLength(400);
      expect(new Set(paged!.tracks.track_id).size).toBe(400);
      expect(paged!.tracks).toEqual(whole!.tracks);
      expect(paged!.artists).toEqual(whole!.artists);
    } finally {
      await db.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it('a snapshot published without figures, or with moods defined otherwise, gets them derived from its tracks at load, and says so', async () => {
    const published = mkdtempSync(join(tmpdir(), 'knowledge-figures-old-'));
    const db = await DuckDbSession.open(':memory:');
    try {
      await generatedMarts(db, 400, 0.25, 'random()');
      await publishSnapshot({ session: db, snapshotDir: published });
      const { manifest, distribution, ...rest } = await readSnapshot(published);
      expect(distribution?.origin).toBe('publish');
      const { format: _f, version: _v, ...older } = manifest;
      await writeSnapshot(published, { ...rest, manifest: older });
      const holder = new CatalogHolder(published, silentLogger);
      expect(await holder.load()).toBe(true);
      const state = holder.current;
      if (state.status !== 'ready') throw new Error(`catalog not ready: ${state.status}`);
      expect(state.catalog.distribution).toEqual({ ...distribution, origin: 'load' });
      const connection = await connectInMemory(holder, 'knowledge-figures-test');
      const md = await glossary(connection.client);
      expect(md).toContain('computed from its tracks when this server loaded it');
      expect(section(md, 'chill')).toBe(section(await glossary(a.client), 'chill'));
      await connection.close();
      holder.close();

      // Mood ranges published under other definitions (chill at energy p35) are not served as this server's.
      const stale = structuredClone(distribution!);
      stale.moods[0]!.bounds[0] = { ...stale.moods[0]!.bounds[0]!, percentile: 35, value: 0.35 };
      await writeSnapshot(published, { ...rest, manifest: older, distribution: stale });
      const reloaded = new CatalogHolder(published, silentLogger);
      expect(await reloaded.load()).toBe(true);
      const again = reloaded.current;
      if (again.status !== 'ready') throw new Error(`catalog not ready: ${again.status}`);
      expect(again.catalog.distribution).toEqual({ ...distribution, origin: 'load' });
      reloaded.close();
    } finally {
      await db.close();
      rmSync(published, { recursive: true, force: true });
    }
  });
});
