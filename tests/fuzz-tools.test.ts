import { join } from 'node:path';
import { Client, InMemoryTransport, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { MAX_ECHO } from '../src/catalog/delimit.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { ATTRIBUTE_NAMES, ATTRIBUTES, type Attribute } from '../src/catalog/recommend.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { fold, genreKey } from '../src/catalog/text.js';
import { silentLogger } from '../src/log.js';
import { connectServer, createServer } from '../src/server.js';
import { httpOver } from './helpers/served-catalog.js';

/**
 * Property-based fuzzing of every tool's arguments through a real SDK Client against createServer on the
 * built snapshot, once per protocol era (CONNECTIONS). Arguments go through JSON first, as on the wire. The client
 * validates every structuredContent against the tool's outputSchema (after listTools), so a valid call
 * that returns schema-invalid output fails here. Properties:
 * - valid arguments → a result without isError whose content honours the arguments;
 * - invalid arguments → isError with a non-empty message (never a crash or a protocol error);
 * - arbitrary JSON → one of the two, never a thrown error (an unknown tool name: -32602);
 * - whatever of the arguments an answer repeats is escaped (no raw control, bidi or zero-width character)
 *   and capped at MAX_ECHO characters.
 */

type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };
type Args = Record<string, unknown>;

let catalog: Catalog;
let client: Client;
let holder: CatalogHolder;

/** Share of each property's cases run on the current connection (a POST per call costs more than memory). */
let share = 1;
const runs = (n: number) => ({ numRuns: Math.ceil(n * share), interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false });

beforeAll(async () => {
  catalog = new Catalog(await readSnapshot(join(inject('builtDataDir'), 'snapshots')));
  holder = CatalogHolder.of(catalog, silentLogger);
});

afterAll(() => holder?.close());

/**
 * The two ways a call reaches the tools: a 2025-era client on a connection (the params checks of
 * src/jsonrpc.ts wrap the transport; in memory here), and a 2026-07-28 client over HTTP, whose POSTs the
 * SDK's per-request handler serves (src/http.ts runs the same checks before it). Each connects a client and
 * says how to close it, and what share of each property's cases it runs.
 */
const CONNECTIONS: Record<string, () => Promise<{ client: Client; close: () => Promise<void>; share: number }>> = {
  'a 2025-11-25 client in memory': async () => {
    const { server } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 1_000 });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await connectServer(server, serverSide);
    const c = new Client({ name: 'fuzz', version: '1' }, { supportedProtocolVersions: ['2025-11-25'] });
    await c.connect(clientSide);
    return { client: c, close: () => c.close(), share: 1 };
  },
  'a 2026-07-28 client over HTTP': async () => {
    const http = await httpOver(holder, {}, { toolWaitMs: 1_000 });
    const c = new Client({ name: 'fuzz', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await c.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    return { client: c, close: async () => { await c.close(); await http.close(1_000); }, share: 0.25 };
  },
};

async function call(name: string, args: unknown): Promise<Result> {
  const wire = JSON.parse(JSON.stringify(args ?? {})) as Args;
  return (await client.callTool({ name, arguments: wire })) as Result;
}

function expectError(r: Result, what: unknown): void {
  expect(r.isError, `expected isError for ${JSON.stringify(what)}`).toBe(true);
  const text = r.content.find((c) => c.type === 'text')?.text ?? '';
  expect(text.trim().length, `empty error message for ${JSON.stringify(what)}`).toBeGreaterThan(0);
}

function expectOk(r: Result, what: unknown): Record<string, any> {
  expect(r.isError, `unexpected error for ${JSON.stringify(what)}: ${r.content[0]?.text}`).toBeFalsy();
  expect(r.structuredContent).toBeDefined();
  expect((r.content[0]?.text ?? '').length).toBeGreaterThan(0);
  expect(r.structuredContent!.catalog.version).toBe(catalog.version);
  return r.structuredContent!;
}

// ---- catalog-derived values (built after beforeAll)

const data = () => {
  const genres = catalog.genres.map((g) => g.genre);
  const artists = catalog.artists.filter((_, i) => i % 37 === 0).map((a) => a.artist_name).filter((n) => fold(n).length > 0);
  const ids: string[] = [];
  const texts: string[] = [];
  for (let i = 0; i < catalog.size; i += 211) {
    ids.push(catalog.trackId(i));
    const t = catalog.track(i);
    if (t.name && t.artists[0]) texts.push(`${t.name} – ${t.artists[0]}`);
  }
  return { genres, artists, ids, texts };
};

/** A spelling of a name the tools must accept: case changed (genres: also spaces ↔ hyphens). */
const spelled = (names: string[], genre = false) =>
  fc.tuple(fc.constantFrom(...names), fc.constantFrom('same', 'upper', 'lower', 'swap')).map(([n, how]) => {
    if (how === 'upper') return n.toUpperCase();
    if (how === 'lower') return n.toLowerCase();
    if (how === 'swap' && genre) return n.includes(' ') ? n.replace(/ /g, '-') : n.replace(/-/g, ' ');
    return n;
  });

/** Valid min/target/max values for a few attributes: min ≤ target ≤ max inside each domain. */
const boundsArb = fc
  .uniqueArray(fc.constantFrom(...ATTRIBUTE_NAMES), { maxLength: 4 })
  .chain((attrs) =>
    fc.tuple(
      ...attrs.map((a) => {
        const spec = ATTRIBUTES[a];
        const value = spec.integer ? fc.integer({ min: spec.min, max: spec.max }) : fc.double({ min: spec.min, max: spec.max, noNaN: true });
        return fc.tuple(fc.constant(a), fc.array(value, { minLength: 1, maxLength: 3 }), fc.subarray(['min', 'target', 'max'] as const, { minLength: 1 }));
      }),
    ),
  )
  .map((entries) => {
    const out: Args = {};
    for (const [attr, values, kinds] of entries) {
      const sorted = values.slice().sort((x, y) => x - y);
      const lo = sorted[0]!;
      const hi = sorted[sorted.length - 1]!;
      if (kinds.includes('min')) out[`min_${attr}`] = lo;
      if (kinds.includes('max')) out[`max_${attr}`] = hi;
      if (kinds.includes('target')) out[`target_${attr}`] = sorted[Math.floor(sorted.length / 2)]!;
    }
    return out;
  });

const listArb = fc.record(
  {
    limit: fc.integer({ min: 1, max: 100 }),
    include_explicit: fc.boolean(),
    max_per_artist: fc.integer({ min: 1, max: 100 }),
    diversity: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: [] },
);

/** Every min_/max_ bound of the arguments holds for a returned track. */
function meetsBounds(track: Record<string, any>, args: Args): void {
  const value = (a: Attribute): number | undefined =>
    a === 'popularity' || a === 'duration_ms' || a === 'key' || a === 'mode' || a === 'release_year' ? track[a] : track.features?.[a];
  for (const a of ATTRIBUTE_NAMES) {
    const v = value(a);
    if (v === undefined) continue; // time_signature is not part of the answer
    const min = args[`min_${a}`] as number | undefined;
    const max = args[`max_${a}`] as number | undefined;
    if (min !== undefined) expect(v, `${a} of ${track.track_id}`).toBeGreaterThanOrEqual(min);
    if (max !== undefined) expect(v, `${a} of ${track.track_id}`).toBeLessThanOrEqual(max);
  }
}

/** Values of the wrong JSON type for any field. */
const wrongType = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const notAString = wrongType.filter((v) => typeof v !== 'string');
const notANumber = wrongType.filter((v) => typeof v !== 'number');
/** A name no catalog entry folds to. */
const unknownName = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `zzqx ${s} qxzz`);
const badLimit = (max: number) =>
  fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: max + 1 }), fc.double({ min: 0.01, max: max - 0.01, noNaN: true }).filter((v) => !Number.isInteger(v)), notANumber);
const tooLong = (max: number) => fc.string({ minLength: max + 1, maxLength: max + 40 }).filter((s) => s.trim().length > max);
const blank = fc.constantFrom('', ' ', '   ', '\t\n');
/** Arguments whose `artist` is missing, of the wrong type, blank, too long or unknown. */
const badArtistArgs = [
  fc.constant({}),
  fc.record({ artist: notAString }),
  fc.record({ artist: blank }),
  fc.record({ artist: tooLong(200) }),
  fc.record({ artist: unknownName }),
] as const;

for (const [who, connect] of Object.entries(CONNECTIONS)) {
  describe(`fuzzing every tool through ${who}`, () => {
    let close: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      ({ client, close, share } = await connect());
      await client.listTools(); // lets the client check structuredContent against each outputSchema
    });
    afterAll(async () => close?.());
    it('recommend_by_genre: valid arguments answer within the bounds and genres; invalid ones get isError', async () => {
      const { genres, artists, ids } = data();
      const valid = fc
        .record({
          genre: spelled(genres, true),
          seed_genres: fc.array(fc.constantFrom(...genres), { maxLength: 2 }),
          seed_artists: fc.array(fc.constantFrom(...artists), { maxLength: 1 }),
          seed_tracks: fc.array(fc.constantFrom(...ids), { maxLength: 1 }),
          list: listArb,
          bounds: boundsArb,
        })
        .map(({ list, bounds, ...rest }) => ({ ...rest, ...list, ...bounds }));
      await fc.assert(
        fc.asyncProperty(valid, async (args) => {
          const s = expectOk(await call('recommend_by_genre', args), args);
          const limit = (args.limit as number | undefined) ?? 10;
          expect(s.returned).toBe(s.tracks.length);
          expect(s.returned).toBeLessThanOrEqual(limit);
          const wanted = new Set([args.genre, ...args.seed_genres].map((g) => genreKey(g)));
          const songs = new Set<string>();
          for (const t of s.tracks) {
            meetsBounds(t, args);
            expect([...t.genres, ...t.subgenres].some((g: string) => wanted.has(genreKey(g))), `${t.track_id} outside ${[...wanted]}`).toBe(true);
            if (args.include_explicit === false) expect(t.explicit).not.toBe(true);
            expect(songs.has(t.track_id)).toBe(false);
            songs.add(t.track_id);
          }
        }),
        runs(600),
      );
      const invalid = fc.oneof(
        fc.record({ genre: notAString }),
        fc.record({ genre: blank }),
        fc.record({ genre: tooLong(100) }),
        fc.record({ genre: unknownName }),
        fc.record({ limit: badLimit(100) }).map((a) => ({ genre: 'rock', ...a })),
        fc.record({ diversity: fc.oneof(fc.double({ min: 1.0001, max: 1e6, noNaN: true }), fc.double({ max: -0.0001, min: -1e6, noNaN: true }), notANumber) }).map((a) => ({ genre: 'pop', ...a })),
        fc.record({ seed_genres: fc.array(fc.constantFrom(...genres), { minLength: 5, maxLength: 8 }) }).map((a) => ({ genre: 'latin', ...a })),
        fc.record({ seed_artists: fc.array(unknownName, { minLength: 1, maxLength: 2 }) }).map((a) => ({ genre: 'edm', ...a })),
        fc.record({ seed_tracks: fc.array(unknownName, { minLength: 1, maxLength: 2 }) }).map((a) => ({ genre: 'edm', ...a })),
        fc.constantFrom(...ATTRIBUTE_NAMES).chain((a) => {
          const spec = ATTRIBUTES[a];
          return fc.oneof(
            // outside the domain
            fc.double({ min: spec.max + 0.5, max: spec.max + 1e4, noNaN: true }).map((v) => ({ genre: 'rock', [`min_${a}`]: v })),
            fc.double({ min: spec.min - 1e4, max: spec.min - 0.5, noNaN: true }).map((v) => ({ genre: 'rock', [`target_${a}`]: v })),
            // min above max
            fc.tuple(fc.double({ min: spec.min, max: spec.max, noNaN: true }), fc.double({ min: spec.min, max: spec.max, noNaN: true }))
              .map(([x, y]) => (spec.integer ? [Math.round(x), Math.round(y)] : [x, y]) as [number, number])
              .filter(([x, y]) => x !== y)
              .map(([x, y]) => ({ genre: 'rock', [`min_${a}`]: Math.max(x, y), [`max_${a}`]: Math.min(x, y) })),
            notANumber.map((v) => ({ genre: 'rock', [`max_${a}`]: v })),
          );
        }),
        fc.constant({}),
        fc.record({ seed_genres: fc.constant([]) }),
      );
      await fc.assert(fc.asyncProperty(invalid, async (args) => expectError(await call('recommend_by_genre', args), args)), runs(300));
    }, 120_000);

    it('similar_tracks: valid seeds answer without the seed songs; invalid ones get isError', async () => {
      const { artists, ids, texts } = data();
      const valid = fc
        .record({
          seed_tracks: fc.array(fc.oneof(fc.constantFrom(...ids), fc.constantFrom(...texts)), { maxLength: 2 }),
          seed_artists: fc.array(fc.constantFrom(...artists), { maxLength: 2 }),
          list: listArb,
          bounds: boundsArb,
        })
        .filter((a) => a.seed_tracks.length + a.seed_artists.length > 0)
        .map(({ list, bounds, ...rest }) => ({ ...rest, ...list, ...bounds }));
      await fc.assert(
        fc.asyncProperty(valid, async (args) => {
          const s = expectOk(await call('similar_tracks', args), args);
          expect(s.returned).toBeLessThanOrEqual((args.limit as number | undefined) ?? 10);
          const seedIds = new Set(args.seed_tracks.filter((t) => ids.includes(t)));
          for (const t of s.tracks) {
            meetsBounds(t, args);
            expect(seedIds.has(t.track_id), `seed ${t.track_id} returned`).toBe(false);
          }
        }),
        runs(400),
      );
      const invalid = fc.oneof(
        fc.constant({}),
        fc.record({ seed_tracks: fc.constant([]), seed_artists: fc.constant([]) }),
        fc.record({ seed_tracks: fc.array(unknownName, { minLength: 1, maxLength: 3 }) }),
        fc.record({ seed_artists: fc.array(unknownName, { minLength: 1, maxLength: 3 }) }),
        fc.record({ seed_tracks: fc.array(fc.constantFrom(...ids), { minLength: 6, maxLength: 8 }) }),
        fc.record({ seed_tracks: fc.array(fc.constantFrom(...ids), { minLength: 3, maxLength: 3 }), seed_artists: fc.array(fc.constantFrom(...artists), { minLength: 3, maxLength: 3 }) }),
        fc.record({ seed_tracks: fc.array(notAString, { minLength: 1, maxLength: 2 }) }),
        fc.record({ seed_tracks: notAString.filter((v) => !Array.isArray(v) && v !== null) }),
        fc.record({ seed_artists: fc.array(tooLong(200), { minLength: 1, maxLength: 1 }) }),
        fc.record({ limit: badLimit(100) }).map((a) => ({ seed_artists: ['Queen'], ...a })),
        fc.record({ max_per_artist: badLimit(100) }).map((a) => ({ seed_artists: ['Queen'], ...a })),
      );
      await fc.assert(fc.asyncProperty(invalid, async (args) => expectError(await call('similar_tracks', args), args)), runs(250));
    }, 120_000);

    it('tracks_by_artist: pages are consistent for valid names; invalid arguments get isError', async () => {
      const { artists } = data();
      const valid = fc.record(
        { artist: spelled(artists), limit: fc.integer({ min: 1, max: 100 }), offset: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 100_000 })) },
        { requiredKeys: ['artist'] },
      );
      await fc.assert(
        fc.asyncProperty(valid, async (args) => {
          const s = expectOk(await call('tracks_by_artist', args), args);
          const limit = args.limit ?? 20;
          const offset = args.offset ?? 0;
          expect(s.offset).toBe(offset);
          expect(s.returned).toBe(s.tracks.length);
          expect(s.returned).toBe(Math.max(0, Math.min(limit, s.total - offset)));
          expect(s.truncated).toBe(offset + s.returned < s.total);
          expect(s.next_offset).toBe(s.truncated ? offset + s.returned : null);
          expect(fold(s.artist.name)).toBe(fold(args.artist));
        }),
        runs(400),
      );
      const invalid = fc.oneof(
        ...badArtistArgs,
        fc.record({ limit: badLimit(100) }).map((a) => ({ artist: 'Queen', ...a })),
        fc.record({ offset: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 100_001 }), notANumber) }).map((a) => ({ artist: 'Queen', ...a })),
      );
      await fc.assert(fc.asyncProperty(invalid, async (args) => expectError(await call('tracks_by_artist', args), args)), runs(200));
    }, 120_000);

    it('artist_metadata: profiles for valid names within max_albums; invalid arguments get isError', async () => {
      const { artists } = data();
      const valid = fc.record({ artist: spelled(artists), max_albums: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: ['artist'] });
      await fc.assert(
        fc.asyncProperty(valid, async (args) => {
          const s = expectOk(await call('artist_metadata', args), args);
          expect(s.albums.length).toBeLessThanOrEqual(args.max_albums ?? 20);
          expect(s.albums_total).toBeGreaterThanOrEqual(s.albums.length);
          expect(fold(s.artist.name)).toBe(fold(args.artist));
          expect(s.source).toBe('dataset');
        }),
        runs(400),
      );
      const invalid = fc.oneof(
        ...badArtistArgs,
        fc.record({ max_albums: badLimit(100) }).map((a) => ({ artist: 'Queen', ...a })),
      );
      await fc.assert(fc.asyncProperty(invalid, async (args) => expectError(await call('artist_metadata', args), args)), runs(200));
    }, 120_000);

    it('search_music_knowledge: any query text is answered; invalid arguments get isError', async () => {
      const words = ['reggaeton', 'chill', 'upbeat', 'valence', 'rock', 'queen', 'dataset', 'for running', 'danceability', 'sad'];
      const query = fc
        .oneof(fc.string({ minLength: 1, maxLength: 300 }), fc.constantFrom(...words), fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 5 }).map((w) => w.join(' ')))
        .filter((q) => q.trim().length > 0 && q.trim().length <= 300);
      const valid = fc.record(
        { query, limit: fc.integer({ min: 1, max: 20 }), kinds: fc.subarray(['genre', 'artist', 'glossary', 'dataset'] as const) },
        { requiredKeys: ['query'] },
      );
      await fc.assert(
        fc.asyncProperty(valid, async (args) => {
          const s = expectOk(await call('search_music_knowledge', args), args);
          expect(s.returned).toBe(s.results.length);
          expect(s.returned).toBeLessThanOrEqual(args.limit ?? 5);
          if (args.kinds?.length) for (const r of s.results) expect(args.kinds).toContain(r.kind);
        }),
        runs(500),
      );
      const invalid = fc.oneof(
        fc.constant({}),
        fc.record({ query: notAString }),
        fc.record({ query: blank }),
        fc.record({ query: tooLong(300) }),
        fc.record({ limit: badLimit(20) }).map((a) => ({ query: 'rock', ...a })),
        fc.record({ kinds: fc.oneof(fc.array(fc.string({ maxLength: 8 }).filter((k) => !['genre', 'artist', 'glossary', 'dataset'].includes(k)), { minLength: 1, maxLength: 2 }), notAString.filter((v) => !Array.isArray(v))) }).map((a) => ({ query: 'rock', ...a })),
      );
      await fc.assert(fc.asyncProperty(invalid, async (args) => expectError(await call('search_music_knowledge', args), args)), runs(200));
    }, 120_000);

    it('arbitrary JSON arguments and tool names never crash: either isError with a message or schema-valid output', async () => {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      const { genres } = data();
      const knownKeys = ['genre', 'artist', 'query', 'limit', 'offset', 'seed_tracks', 'seed_artists', 'seed_genres', 'kinds', 'max_albums', 'min_energy', 'max_tempo', 'target_valence', 'diversity', 'include_explicit'];
      const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...genres), fc.constantFrom('Queen', 'beyonce', 'rock', '', ' '));
      const args = fc.oneof(
        fc.dictionary(fc.constantFrom(...knownKeys), value, { maxKeys: 5 }),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
      );
      const name = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...tools) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });
      await fc.assert(
        fc.asyncProperty(name, args, async (tool, a) => {
          if (!tools.includes(tool)) {
            const err = await call(tool, a).then(() => null, (e: unknown) => e);
            expect(err, tool).toBeInstanceOf(ProtocolError);
            expect((err as ProtocolError).code).toBe(-32602);
            expect((err as ProtocolError).message).toMatch(/unknown tool «/);
            return;
          }
          const r = await call(tool, a);
          if (r.isError) expectError(r, { tool, a });
          else {
            expect(tools).toContain(tool);
            expect(r.structuredContent, JSON.stringify({ tool, a })).toBeDefined();
          }
        }),
        runs(800),
      );
      // The server still answers normally afterwards.
      expectOk(await call('recommend_by_genre', { genre: 'rock', limit: 3 }), 'after fuzzing');
    }, 120_000);

    it('repeats arguments escaped and capped: no raw control, bidi or zero-width character, at most MAX_ECHO characters', async () => {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      const invisible = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u200b', '\u200e', '\u2028', '\u202a', '\u202e', '\u2066', '\ufeff'];
      const RAW = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
      const piece = fc.oneof(fc.constantFrom(...invisible), fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom('rock', 'Queen', ' '));
      const nasty = fc.tuple(fc.array(piece, { minLength: 1, maxLength: 12 }), fc.nat({ max: 2_000 })).map(([parts, pad]) => `${parts.join('')}${'p'.repeat(pad)}`);
      const place = fc.constantFrom('artist', 'genre', 'query', 'seed_tracks', 'seed_artists', 'key', 'tool');
      const defaults: Record<string, Args> = {
        recommend_by_genre: { genre: 'rock', limit: 2 }, similar_tracks: { seed_artists: ['Queen'], limit: 2 },
        tracks_by_artist: { artist: 'Queen', limit: 2 }, artist_metadata: { artist: 'Queen' }, search_music_knowledge: { query: 'rock', limit: 2 },
      };
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...tools), place, nasty, async (tool, where, s) => {
          let text: string;
          if (where === 'tool') {
            text = await call(`${tool}${s}`, {}).then((r) => r.content.map((c) => c.text ?? '').join('\n'), (e: ProtocolError) => e.message);
          } else {
            const args: Args = { ...defaults[tool] };
            if (where === 'key') args[s] = 1;
            else args[where] = where.startsWith('seed_') ? [s] : s;
            const r = await call(tool, args);
            text = r.content.map((c) => c.text ?? '').join('\n');
          }
          expect(text, JSON.stringify({ tool, where, s })).not.toMatch(RAW);
          if (s.length > MAX_ECHO) expect(text.includes(s.slice(0, MAX_ECHO + 1)), JSON.stringify({ tool, where, s: s.slice(0, 40) })).toBe(false);
        }),
        runs(600),
      );
    }, 120_000);
  });
}
