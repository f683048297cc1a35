import { join } from 'node:path';
import { Client, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import type { GetPromptResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { silentLogger } from '../src/log.js';
import { connectInMemory, type MemoryConnection } from '../scripts/lib/memory-client.js';

const holder = new CatalogHolder(join(inject('builtDataDir'), 'snapshots'), silentLogger);
const client = new Client({ name: 'prompts-test', version: '1.0.0' });
let connection: MemoryConnection;

beforeAll(async () => {
  expect(await holder.load()).toBe(true);
  connection = await connectInMemory(holder, client);
});
afterAll(async () => {
  await connection.close();
  holder.close();
});

type Content = { type: string; text?: string; resource?: { uri: string; mimeType?: string; text: string } };
const parts = (r: GetPromptResult) => r.messages.map((m) => m.content as Content);
const instructions = (r: GetPromptResult) => parts(r)[0]!.text!;
const embeddedUris = (r: GetPromptResult) => parts(r).filter((c) => c.type === 'resource').map((c) => c.resource!.uri);

async function rejects(p: Promise<unknown>): Promise<ProtocolError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected an MCP error');
}

const complete = (name: string, argument: string, value: string, context?: Record<string, string>) =>
  client.complete({ ref: { type: 'ref/prompt', name }, argument: { name: argument, value }, ...(context ? { context: { arguments: context } } : {}) });

describe('prompts', () => {
  it('lists build_playlist, artist_deep_dive and compare_genres with their arguments', async () => {
    const { prompts } = await client.listPrompts();
    const byName = Object.fromEntries(prompts.map((p) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual(['artist_deep_dive', 'build_playlist', 'compare_genres']);
    expect(byName.build_playlist!.arguments!.map((a) => [a.name, a.required])).toEqual([['mood', true], ['genre', false], ['length', false]]);
    expect(byName.artist_deep_dive!.arguments!.map((a) => a.name)).toEqual(['artist']);
    expect(byName.compare_genres!.arguments!.map((a) => [a.name, a.required])).toEqual([['genre_a', true], ['genre_b', true]]);
    for (const p of prompts) for (const a of p.arguments!) expect(a.description, `${p.name}.${a.name}`).toBeTruthy();
  });

  it('build_playlist turns a mood into recommend_by_genre bounds and attaches the genre profile', async () => {
    const r = await client.getPrompt({ name: 'build_playlist', arguments: { mood: 'Chill', genre: 'Rock', length: '15' } });
    const text = instructions(r);
    expect(text).toMatch(/^Build a playlist of 15 tracks for the mood «Chill» from the genre «rock»/);
    // TidyTuesday: energy p20 0.54, speechiness p75 0.13, tempo p40 114 BPM (see knowledge-figures.test.ts for how they are derived).
    expect(text).toContain('recommend_by_genre {"genre":"rock","limit":15,"max_energy":0.54,"max_speechiness":0.13,"max_tempo":114}');
    expect(text).toContain('music://glossary/audio-features');
    expect(embeddedUris(r)).toEqual(['music://genres/rock']);
    expect(parts(r)[1]!.resource!.text).toMatch(/^# Genre «rock»/);
  });

  it('build_playlist without a genre sends the model to search_music_knowledge; an unknown mood to the glossary', async () => {
    const noGenre = await client.getPrompt({ name: 'build_playlist', arguments: { mood: 'workout' } });
    expect(instructions(noGenre)).toMatch(/search_music_knowledge/);
    expect(instructions(noGenre)).toContain('recommend_by_genre {"limit":20,"min_energy":0.77,"min_danceability":0.59,"min_tempo":122}');
    expect(instructions(noGenre)).toMatch(/draws from the whole catalog/);
    expect(instructions(noGenre)).toMatch(/of 20 tracks/);
    expect(embeddedUris(noGenre)).toEqual([]);
    const free = await client.getPrompt({ name: 'build_playlist', arguments: { mood: 'rainy sunday', genre: 'pop' } });
    expect(instructions(free)).toMatch(/«rainy sunday» is not one of the glossary's words .* call search_music_knowledge/);
  });

  it('build_playlist rejects an unknown genre (naming the closest) and a bad length', async () => {
    const g = await rejects(client.getPrompt({ name: 'build_playlist', arguments: { mood: 'chill', genre: 'hiphopp' } }));
    expect(g.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(g.message).toMatch(/genre «hiphopp» is not in the catalog; closest genres: «hip hop»/);
    const style = await rejects(client.getPrompt({ name: 'compare_genres', arguments: { genre_a: 'rock', genre_b: 'Blues' } }));
    expect(style.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(style.message).toMatch(/genre «Blues» is not in the catalog; no genre with a similar name\. Nearest by sound to blues \(an approximation from mean audio features, not the same genre\): «[^»]+»(, «[^»]+»){2}\. The catalog has 6 genres: /);
    for (const length of ['0', '500', 'ten']) {
      const e = await rejects(client.getPrompt({ name: 'build_playlist', arguments: { mood: 'chill', length } }));
      expect(e.code, length).toBe(ProtocolErrorCode.InvalidParams);
    }
  });

  it('artist_deep_dive names the artist tools and attaches the artist profile', async () => {
    const r = await client.getPrompt({ name: 'artist_deep_dive', arguments: { artist: 'beyonce' } });
    const text = instructions(r);
    expect(text).toMatch(/^Write a deep dive on the artist «Beyoncé»/);
    expect(text).toContain('artist_metadata {"artist": "Beyoncé", "max_albums": 50}');
    expect(text).toContain('tracks_by_artist {"artist": "Beyoncé", "limit": 20}');
    expect(text).toMatch(/music:\/\/genres\/[\w%]+/);
    expect(embeddedUris(r)).toEqual(['music://artists/Beyonc%C3%A9']);
    const typo = await client.getPrompt({ name: 'artist_deep_dive', arguments: { artist: 'Martin Garix' } });
    expect(instructions(typo)).toMatch(/^Write a deep dive on the artist «Martin Garrix»/);
    const e = await rejects(client.getPrompt({ name: 'artist_deep_dive', arguments: { artist: 'Martn Garx' } }));
    expect(e.message).toMatch(/nearest names: «Martin Garrix»/);
  });

  it('compare_genres attaches both profiles and rejects the same genre twice', async () => {
    const r = await client.getPrompt({ name: 'compare_genres', arguments: { genre_a: 'latin', genre_b: 'Reggaeton' } });
    expect(instructions(r)).toMatch(/^Compare the genres «latin» and «reggaeton»/);
    expect(instructions(r)).toContain('recommend_by_genre {"genre": "latin", "limit": 5}');
    expect(embeddedUris(r)).toEqual(['music://genres/latin', 'music://genres/reggaeton']);
    const e = await rejects(client.getPrompt({ name: 'compare_genres', arguments: { genre_a: 'Hip Hop', genre_b: 'hip-hop' } }));
    expect(e.message).toMatch(/choose two different genres/);
  });
});

describe('prompt argument completion', () => {
  it('completes moods by name or synonym', async () => {
    expect((await complete('build_playlist', 'mood', 'chi')).completion.values).toEqual(['chill']);
    expect((await complete('build_playlist', 'mood', 'ch')).completion.values).toEqual(['chill', 'upbeat']); // upbeat: "cheerful"
    expect((await complete('build_playlist', 'mood', 'jog')).completion.values).toEqual(['for running']);
    expect((await complete('build_playlist', 'mood', '')).completion.values.length).toBeGreaterThanOrEqual(6);
  });

  it('completes genres and artists from the catalog, accent-insensitive, capped at 100', async () => {
    expect((await complete('build_playlist', 'genre', 'lat')).completion.values).toEqual(['latin', 'latin hip hop', 'latin pop']);
    expect((await complete('artist_deep_dive', 'artist', 'tiesto')).completion.values[0]).toBe('Tiësto');
    const many = (await complete('artist_deep_dive', 'artist', 'the')).completion;
    expect(many.values).toHaveLength(100);
    expect(many.hasMore).toBe(true);
    expect(many.total).toBeGreaterThan(100);
    expect((await complete('build_playlist', 'length', '1')).completion.values).toEqual(['10', '100']);
  });

  it('compare_genres does not offer the genre already chosen', async () => {
    const b = (await complete('compare_genres', 'genre_b', 'lat', { genre_a: 'latin' })).completion.values;
    expect(b).toEqual(['latin hip hop', 'latin pop']);
  });
});

describe('argument names a prompt does not take', () => {
  const VALID: Record<string, Record<string, string>> = {
    build_playlist: { mood: 'chill', genre: 'rock' },
    artist_deep_dive: { artist: 'Queen' },
    compare_genres: { genre_a: 'latin', genre_b: 'rock' },
  };

  it('are refused on every prompt with -32602 naming each unknown key and the valid ones', async () => {
    const { prompts } = await client.listPrompts();
    expect(Object.keys(VALID).sort()).toEqual(prompts.map((p) => p.name).sort());
    for (const p of prompts) {
      const args = VALID[p.name]!;
      expect((await client.getPrompt({ name: p.name, arguments: args })).messages.length, p.name).toBeGreaterThan(0);
      const e = await rejects(client.getPrompt({ name: p.name, arguments: { ...args, lenght: '10' } }));
      expect(e.code, p.name).toBe(ProtocolErrorCode.InvalidParams);
      const valid = p.arguments!.map((a) => a.name).join(', ');
      expect(e.message, p.name).toContain(`unknown argument «lenght» (`);
      expect(e.message, p.name).toContain(`valid arguments: ${valid}.`);
    }
    const typo = await rejects(client.getPrompt({ name: 'build_playlist', arguments: { mood: 'chill', lenght: '10' } }));
    expect(typo.message).toMatch(/«lenght» \(closest: length\)/);
  });

  it('completion of an argument a prompt does not take is refused with -32602, __proto__ included', async () => {
    for (const name of ['genres', '__proto__', 'constructor']) {
      const e = await rejects(complete('build_playlist', name, 'x'));
      expect(e.code, name).toBe(ProtocolErrorCode.InvalidParams);
      expect(e.message, name).toMatch(new RegExp(`prompt build_playlist: unknown argument «${name}» .*valid arguments: mood, genre, length`));
    }
    const unknown = await rejects(complete('build_playlists', 'genre', 'x'));
    expect(unknown.message).toMatch(/unknown prompt «build_playlists»; did you mean build_playlist\?/);
  });
});
