import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SERVER_CARD_PATHS, type RunningHttpServer } from '../src/http.js';
import { PACKAGE } from '../src/server.js';
import { httpOverCatalog } from './helpers/served-catalog.js';

// What a client shows of the server before using it: titles and icons on the server, tools, prompts and
// resource templates, and the Server Card a discovery tool reads over plain HTTP.
let http: RunningHttpServer;
beforeAll(async () => {
  http = await httpOverCatalog(inject('builtDataDir'));
});
afterAll(async () => http.close(1_000));

type Icon = { src: string; mimeType?: string; sizes?: string[] };
function expectIcons(icons: Icon[] | undefined, what: string): void {
  expect(icons?.length, what).toBeGreaterThan(0);
  const png = icons!.find((i) => i.mimeType === 'image/png');
  expect(png, `${what}: a PNG, the format every client must support`).toBeDefined();
  const bytes = Buffer.from(png!.src.replace(/^data:image\/png;base64,/, ''), 'base64');
  expect(bytes.subarray(1, 4).toString(), what).toBe('PNG');
}

describe('titles and icons', () => {
  it('are on the server, every tool, prompt and resource template (2026-07-28 client)', async () => {
    const client = new Client({ name: 'icons-test', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    try {
      const info = client.getServerVersion() as { title?: string; icons?: Icon[] };
      expect(info.title).toBe('Music catalog');
      expectIcons(info.icons, 'server');
      for (const t of (await client.listTools()).tools) {
        expect(t.title, t.name).toBeTruthy();
        expectIcons(t.icons, t.name);
      }
      for (const p of (await client.listPrompts()).prompts) {
        expect(p.title, p.name).toBeTruthy();
        expectIcons(p.icons, p.name);
      }
      for (const r of (await client.listResourceTemplates()).resourceTemplates) {
        expect(r.title, r.uriTemplate).toBeTruthy();
        expectIcons(r.icons, r.uriTemplate);
      }
    } finally {
      await client.close();
    }
  });
});

describe('Server Card', () => {
  for (const path of SERVER_CARD_PATHS) {
    it(`GET ${path} names the server and its Streamable HTTP endpoint`, async () => {
      const res = await fetch(new URL(path, http.url));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const card = (await res.json()) as { name: string; version: string; remotes: { type: string; url: string }[]; icons: Icon[] };
      expect(card.version).toBe(PACKAGE.version);
      expect(card.name).toBeTruthy();
      expect(card.remotes).toEqual([{ type: 'streamable-http', url: http.url }]);
      expectIcons(card.icons, 'card');
    });
  }

  it('answers the card only for GET, and only for this server\'s hosts', async () => {
    expect((await fetch(new URL(SERVER_CARD_PATHS[0]!, http.url), { method: 'POST' })).status).not.toBe(200);
    const foreign = await request(new URL(SERVER_CARD_PATHS[0]!, http.url), { headers: { host: 'evil.example' } });
    await foreign.body.text();
    expect(foreign.statusCode).toBe(421);
  });
});
