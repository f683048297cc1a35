import { Client, StreamableHTTPClientTransport, type ClientOptions } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningHttpServer } from '../src/http.js';
import { httpOverCatalog, stdioServerTransport } from './helpers/served-catalog.js';

// An artist name that fits several catalog artists: a 2026-07-28 client that can answer a form is asked
// which one (input_required) and gets the answer for the artist chosen; every other client, and a declined
// form, gets the error naming the candidates. On the test catalog (TidyTuesday) "skillex" is as close to
// Skillet as to Skrillex, and "lil wyne" to Lil Wayne as to Lil Wyte.
const dataDir = inject('builtDataDir');

let http: RunningHttpServer;
beforeAll(async () => {
  http = await httpOverCatalog(dataDir);
});
afterAll(async () => http.close(1_000));

function transportFor(kind: 'stdio' | 'http') {
  if (kind === 'http') return new StreamableHTTPClientTransport(new URL(http.url));
  return stdioServerTransport(dataDir);
}

interface Form {
  message: string;
  requestedSchema: { properties: { artist: { oneOf: { const: string; title: string }[] } } };
}

type Answer = { action: 'accept'; content: { artist: string } } | { action: 'decline' | 'cancel' };

/** A client that answers forms with `answer(form)` and records the forms it was shown. */
async function connect(kind: 'stdio' | 'http', options: ClientOptions, answer: (form: Form) => Answer = () => ({ action: 'decline' })) {
  const client = new Client({ name: 'artist-choice-test', version: '1' }, options);
  const forms: Form[] = [];
  if (options.capabilities?.elicitation) {
    client.setRequestHandler('elicitation/create', async (request) => {
      const form = request.params as unknown as Form;
      forms.push(form);
      return answer(form);
    });
  }
  await client.connect(transportFor(kind));
  return { client, forms };
}

const MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const;
const FORMS = { elicitation: { form: {} } };

const offered = (form: Form) => form.requestedSchema.properties.artist.oneOf.map((o) => o.const).sort();
const text = (r: { content?: unknown }) => JSON.stringify(r.content);

for (const kind of ['stdio', 'http'] as const) {
  describe(`an artist name that fits several artists, over ${kind}`, () => {
    it('a 2026-07-28 client that can answer forms is asked, and gets the answer for the artist chosen', async () => {
      // Picks by name, as a person reading the form would: the one whose title names what they meant.
      const want = ['Skrillex', 'Lil Wayne'];
      const { client, forms } = await connect(kind, { ...MODERN, capabilities: FORMS }, (form) => ({
        action: 'accept',
        content: { artist: form.requestedSchema.properties.artist.oneOf.find((o) => want.includes(o.const))!.const },
      }));
      try {
        const tracks = await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'skillex', limit: 3 } });
        expect(tracks.isError, text(tracks)).toBeFalsy();
        expect(tracks.structuredContent).toMatchObject({ artist: { name: 'Skrillex' }, resolved: { query: 'skillex', matched: 'Skrillex', how: 'chosen' } });
        expect(forms).toHaveLength(1);
        expect(offered(forms[0]!)).toEqual(['Skillet', 'Skrillex']);
        // Each choice says what tells it apart: its genres and best-known track, names delimited as data.
        expect(forms[0]!.requestedSchema.properties.artist.oneOf.every((o) => /^«.+» \(.*best known for «.+»\)$/.test(o.title))).toBe(true);
        expect(forms[0]!.message).toContain('«skillex»');

        const meta = await client.callTool({ name: 'artist_metadata', arguments: { artist: 'skillex' } });
        expect(meta.isError, text(meta)).toBeFalsy();
        expect(JSON.stringify(meta.structuredContent)).toContain('"Skrillex"');

        // Two ambiguous seeds: both asked in one round, both answers used.
        forms.length = 0;
        const similar = await client.callTool({ name: 'similar_tracks', arguments: { seed_artists: ['skillex', 'lil wyne'], limit: 3 } });
        expect(similar.isError, text(similar)).toBeFalsy();
        expect(forms.map(offered)).toEqual([['Skillet', 'Skrillex'], ['Lil Wayne', 'Lil Wyte']]);
        expect((similar.structuredContent as { resolved: unknown[] }).resolved).toEqual([
          { query: 'skillex', matched: 'Skrillex', how: 'chosen' },
          { query: 'lil wyne', matched: 'Lil Wayne', how: 'chosen' },
        ]);

        const byGenre = await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'edm', seed_artists: ['skillex'], limit: 3 } });
        expect(byGenre.isError, text(byGenre)).toBeFalsy();
        expect((byGenre.structuredContent as { resolved: unknown[] }).resolved).toEqual([{ query: 'skillex', matched: 'Skrillex', how: 'chosen' }]);

        // A name that is not ambiguous is answered at once: no form.
        forms.length = 0;
        const plain = await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'queen', limit: 1 } });
        expect(plain.isError).toBeFalsy();
        expect(forms).toHaveLength(0);
      } finally {
        await client.close();
      }
    }, 120_000);

    it('a declined or cancelled form gets the error naming the candidates', async () => {
      let action: 'decline' | 'cancel' = 'decline';
      const { client, forms } = await connect(kind, { ...MODERN, capabilities: FORMS }, () => ({ action }));
      try {
        for (action of ['decline', 'cancel'] as const) {
          const r = await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'skillex' } });
          expect(r.isError).toBe(true);
          expect(text(r)).toMatch(/artist «skillex» fits several catalog artists: «Skillet» .*«Skrillex» .*Call again with the one meant as artist/);
          expect(r.structuredContent).toBeUndefined();
        }
        expect(forms).toHaveLength(2);
      } finally {
        await client.close();
      }
    }, 120_000);

    it('an answer that is not one of the candidates is refused, never read as another artist', async () => {
      let forged = 'Queen';
      const { client } = await connect(kind, { ...MODERN, capabilities: FORMS }, () => ({ action: 'accept', content: { artist: forged } }));
      try {
        for (forged of ['Queen', 'skrillex', '']) {
          const r = await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'skillex' } });
          expect(r.isError, forged).toBe(true);
          expect(text(r)).toContain(`the answer «${forged}» for «skillex» is not one of the artists offered`);
          expect(r.structuredContent).toBeUndefined();
        }
        const seeds = await client.callTool({ name: 'similar_tracks', arguments: { seed_artists: ['lil wyne'] } });
        expect(seeds.isError).toBe(true);
        expect(text(seeds)).toContain('seed artist «lil wyne» fits several catalog artists');
      } finally {
        await client.close();
      }
    }, 120_000);

    const incapable: [string, ClientOptions][] = [
      ['a 2026-07-28 client without form elicitation', { ...MODERN }],
      ['a 2025-11-25 client, even one that declares elicitation', { supportedProtocolVersions: ['2025-11-25'], capabilities: FORMS }],
    ];
    for (const [who, options] of incapable) {
      it(`${who} gets the error naming the candidates`, async () => {
        const { client, forms } = await connect(kind, options, () => ({ action: 'accept', content: { artist: 'Skrillex' } }));
        try {
          const r = await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'skillex' } });
          expect(r.isError).toBe(true);
          expect(text(r)).toMatch(/artist «skillex» fits several catalog artists: «Skillet» .*«Skrillex»/);
          const seeds = await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', seed_artists: ['queen', 'lil wyne'] } });
          expect(seeds.isError).toBe(true);
          expect(text(seeds)).toMatch(/seed artist «lil wyne» fits several catalog artists: «Lil Wayne» .*«Lil Wyte» .*as seed_artists/);
          expect(forms).toHaveLength(0);
        } finally {
          await client.close();
        }
      }, 120_000);
    }
  });
}
