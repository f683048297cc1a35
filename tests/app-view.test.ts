// The MCP App view of playlists in a real browser: Debian's Chromium (playwright-core) loads a minimal
// host page built on the ext-apps AppBridge (ui/test-host/host.ts), which shows the ui:// resource the
// server serves and answers the view's calls with a real MCP client of the server over the test
// catalog. (Callbacks run in the page: this file is compiled without DOM types, hence `any` there.) Screenshots land in test-output/app-view/ (gitignored) for people to look at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PLAYLIST_VIEW_URI } from '../src/app/playlist-view.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { openViewHost, type ToolAnswer, type ViewHost } from '../scripts/view-host.js';
import { memoryClient } from '../scripts/lib/memory-client.js';

const OUT = join(PROJECT_ROOT, 'test-output', 'app-view');
const VIEW_TOOLS = ['recommend_by_genre', 'sequence_playlist', 'similar_tracks', 'tracks_by_artist'];

type Track = { track_id: string; name: string | null; artists: string[]; features: { energy: number; valence: number; tempo: number } };

const m = memoryClient(inject('builtDataDir'), 'app-view-test');
let host: ViewHost;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  await m.open();
  host = await openViewHost(m.client);
});

afterAll(async () => {
  await host?.close();
  await m.close();
});

const tracksOf = (r: ToolAnswer) => r.structuredContent!.tracks as Track[];
const view = () => host.view();
const attrs = (selector: string, name: string) => view().locator(selector).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);
const numbers = async (selector: string, name: string) => (await attrs(selector, name)).map(Number);
const cardIds = () => attrs('.card', 'data-track-id');
/** The genre's p10–p90 from the catalog, as the profile document prints it (2 decimals). */
const band = (genre: string, feature: 'energy' | 'valence') => {
  const s = m.catalog().genres.find((g) => g.genre === genre)!.features[feature]!;
  return [Number(s.p10!.toFixed(2)), Number(s.p90!.toFixed(2))] as const;
};
const outside = (t: Track, genre: string) => {
  const [e10, e90] = band(genre, 'energy');
  const [v10, v90] = band(genre, 'valence');
  return t.features.energy < e10 || t.features.energy > e90 || t.features.valence < v10 || t.features.valence > v90;
};

describe('the playlist view resource', () => {
  it('is served as text/html;profile=mcp-app with CSP metadata that allows only the album-art host, and the four list tools name it', async () => {
    const { contents } = await m.client.readResource({ uri: PLAYLIST_VIEW_URI });
    expect(contents[0]).toMatchObject({ uri: PLAYLIST_VIEW_URI, mimeType: 'text/html;profile=mcp-app' });
    expect((contents[0] as { _meta?: unknown })._meta).toEqual({ ui: { csp: { resourceDomains: ['https://i.scdn.co'], connectDomains: [] }, prefersBorder: true } });
    expect((contents[0] as { text: string }).text).toMatch(/^<!doctype html>/);
    // One page (the documents, the view among them, come first): listResources() without a cursor walks every page.
    const { resources } = await m.client.request({ method: 'resources/list', params: {} });
    expect(resources.find((r) => r.uri === PLAYLIST_VIEW_URI)?.mimeType).toBe('text/html;profile=mcp-app');
    const { tools } = await m.client.listTools();
    const withView = tools.filter((t) => (t._meta?.ui as { resourceUri?: string } | undefined)?.resourceUri === PLAYLIST_VIEW_URI).map((t) => t.name);
    expect(withView.sort()).toEqual(VIEW_TOOLS);
  });
});

describe('the view in Chromium', () => {
  it('recommend_by_genre: cards in list order, the energy arc and the scatter equal the list, the genre band from its profile, outliers marked', async () => {
    const r = await host.show('recommend_by_genre', { genre: 'latin', limit: 8, target_energy: 0.5 });
    const tracks = tracksOf(r);
    expect(tracks).toHaveLength(8);
    expect(await cardIds()).toEqual(tracks.map((t) => t.track_id));
    expect(await view().locator('.card h3').allTextContents()).toEqual(tracks.map((t, i) => `${i + 1}. ${t.name}`));
    expect(await view().locator('.card .artists').allTextContents()).toEqual(tracks.map((t) => t.artists.join(', ')));
    expect(await view().locator('#title').textContent()).toBe('8 latin recommendations');
    // Energy and valence along the play order: one point per track, in list order; y falls as the value rises.
    expect(await numbers('.arc .points.s-energy circle', 'data-value')).toEqual(tracks.map((t) => t.features.energy));
    expect(await numbers('.arc .points.s-valence circle', 'data-value')).toEqual(tracks.map((t) => t.features.valence));
    const cy = await numbers('.arc .points.s-energy circle', 'cy');
    const cx = await numbers('.arc .points.s-energy circle', 'cx');
    expect([...cx].sort((a, b) => a - b)).toEqual(cx);
    for (let i = 0; i < tracks.length; i++) for (let j = 0; j < tracks.length; j++) {
      if (tracks[i]!.features.energy > tracks[j]!.features.energy + 0.01) expect(cy[i]).toBeLessThan(cy[j]!);
    }
    expect(await view().locator('.arc .y-axis text').allTextContents()).toEqual(['0.00', '0.25', '0.50', '0.75', '1.00']);
    expect(await view().locator('.arc .x-axis text').allTextContents()).toEqual(tracks.map((_, i) => String(i + 1)));
    expect(await view().locator('.arc .points.s-tempo').count()).toBe(0);
    // Scatter on energy × valence over latin's p10–p90, read by the view from music://genres/latin.
    expect(await numbers('.scatter circle', 'data-energy')).toEqual(tracks.map((t) => t.features.energy));
    expect(await numbers('.scatter circle', 'data-valence')).toEqual(tracks.map((t) => t.features.valence));
    expect(await attrs('.scatter .band', 'data-energy')).toEqual([band('latin', 'energy').join('-')]);
    expect(await attrs('.scatter .band', 'data-valence')).toEqual([band('latin', 'valence').join('-')]);
    expect(await view().locator('.scatter [data-axis]').allTextContents()).toEqual(['valence →', 'energy →']);
    const outliers = tracks.filter((t) => outside(t, 'latin')).map((t) => t.track_id);
    expect(outliers.length, 'a list with tracks in and out of the band').toBeGreaterThan(0);
    expect(outliers.length).toBeLessThan(tracks.length);
    expect(await attrs('.card.outlier', 'data-track-id')).toEqual(outliers);
    expect(await view().locator('.scatter circle.outlier').count()).toBe(outliers.length);
    // Feature bars carry their values for assistive technology.
    expect(await numbers('.card:first-child [role=meter][aria-label=Energy]', 'aria-valuenow')).toEqual([Number(tracks[0]!.features.energy.toFixed(3))]);
    await host.screenshot(join(OUT, 'recommend_by_genre.png'));
    expect(host.problems).toEqual([]);
  });

  it('tempo on demand: a second axis in BPM and one point per track', async () => {
    const r = await host.show('recommend_by_genre', { genre: 'rock', limit: 6 });
    await view().locator('#show-tempo').check();
    expect(await numbers('.arc .points.s-tempo circle', 'data-value')).toEqual(tracksOf(r).map((t) => t.features.tempo));
    expect(await view().locator('.arc [data-axis=tempo] text').last().textContent()).toBe('BPM');
    await view().locator('#show-valence').uncheck();
    expect(await view().locator('.arc .points.s-valence').count()).toBe(0);
    await view().locator('#show-valence').check();
    await view().locator('#show-tempo').uncheck();
  });

  it('similar_tracks: "more like this" calls similar_tracks seeded with that track and shows its answer', async () => {
    const seed = tracksOf(await m.call('recommend_by_genre', { genre: 'pop', limit: 1 }))[0]!;
    const r = await host.show('similar_tracks', { seed_tracks: [seed.track_id], limit: 6 });
    expect(await cardIds()).toEqual(tracksOf(r).map((t) => t.track_id));
    await host.screenshot(join(OUT, 'similar_tracks.png'));
    const second = tracksOf(r)[1]!;
    const before = host.calls.length;
    await view().locator('.card').nth(1).getByRole('button', { name: `More like ${second.name}` }).click();
    await host.rendered(2);
    expect(host.calls.slice(before)).toEqual([{ name: 'similar_tracks', arguments: { seed_tracks: [second.track_id], limit: 6 } }]);
    const expected = tracksOf(await m.call('similar_tracks', { seed_tracks: [second.track_id], limit: 6 }));
    expect(await cardIds()).toEqual(expected.map((t) => t.track_id));
    expect(await view().locator('#title').textContent()).toBe(`6 tracks like ${second.name}`);
    expect(await numbers('.arc .points.s-energy circle', 'data-value')).toEqual(expected.map((t) => t.features.energy));
  });

  it('"exclude this artist" asks the tool again and shows a list of the same length without the artist', async () => {
    const r = await host.show('recommend_by_genre', { genre: 'pop', limit: 6 });
    const artist = tracksOf(r)[0]!.artists[0]!;
    const before = host.calls.length;
    await view().getByRole('button', { name: `Exclude ${artist}` }).first().click();
    await host.rendered(2);
    expect(host.calls.slice(before)).toEqual([{ name: 'recommend_by_genre', arguments: { genre: 'pop', limit: 100 } }]);
    const all = tracksOf(await m.call('recommend_by_genre', { genre: 'pop', limit: 100 }));
    const expected = all.filter((t) => !t.artists.includes(artist)).slice(0, 6);
    expect(await cardIds()).toEqual(expected.map((t) => t.track_id));
    expect(await view().locator('.card .artists').allTextContents()).not.toContain(artist);
    expect(await view().locator('#title').textContent()).toBe(`6 pop recommendations, without ${artist}`);
  });

  it('sequence_playlist: the arc chart follows the sequenced order; "re-sequence as" calls sequence_playlist with the arc and redraws', async () => {
    const ids = tracksOf(await m.call('recommend_by_genre', { genre: 'edm', limit: 8 })).map((t) => t.track_id);
    const r = await host.show('sequence_playlist', { tracks: ids, arc: 'rising' });
    const rising = tracksOf(r);
    expect(await cardIds()).toEqual(rising.map((t) => t.track_id));
    expect(await numbers('.arc .points.s-energy circle', 'data-value')).toEqual(rising.map((t) => t.features.energy));
    expect(await view().locator('#arc').inputValue()).toBe('rising');
    await host.screenshot(join(OUT, 'sequence_playlist.png'));
    const before = host.calls.length;
    await view().getByLabel('Arc to re-sequence as').selectOption('falling');
    await view().getByRole('button', { name: 'Re-sequence' }).click();
    await host.rendered(2);
    expect(host.calls.slice(before)).toEqual([{ name: 'sequence_playlist', arguments: { tracks: rising.map((t) => t.track_id), arc: 'falling' } }]);
    const falling = tracksOf(await m.call('sequence_playlist', { tracks: rising.map((t) => t.track_id), arc: 'falling' }));
    expect(await cardIds()).toEqual(falling.map((t) => t.track_id));
    expect(await numbers('.arc .points.s-energy circle', 'data-value')).toEqual(falling.map((t) => t.features.energy));
    expect(await view().locator('#title').textContent()).toBe('8 tracks, ordered falling');
    // Excluding an artist of a sequenced list orders the rest with the same arc.
    const artist = falling[0]!.artists[0]!;
    const rest = falling.filter((t) => !t.artists.includes(artist)).map((t) => t.track_id);
    await view().getByRole('button', { name: `Exclude ${artist}` }).first().click();
    await host.rendered(3);
    expect(host.calls.at(-1)).toEqual({ name: 'sequence_playlist', arguments: { tracks: rest, arc: 'falling' } });
    expect((await cardIds()).sort()).toEqual([...rest].sort());
  });

  it('tracks_by_artist: cards by the artist with no exclude button, usable from the keyboard', async () => {
    const r = await host.show('tracks_by_artist', { artist: 'Queen', limit: 5 });
    const tracks = tracksOf(r);
    expect(await cardIds()).toEqual(tracks.map((t) => t.track_id));
    expect(await view().locator('#title').textContent()).toBe('5 tracks by Queen');
    expect(await view().locator('[data-action=exclude]').count()).toBe(0);
    await host.screenshot(join(OUT, 'tracks_by_artist.png'));
    // Every control has an accessible name; Tab reaches the buttons and Enter acts.
    for (const b of await view().locator('button, select, input, textarea').all()) expect(await b.evaluate((e: any) => e.innerText || e.getAttribute('aria-label') || e.labels?.[0]?.innerText)).toBeTruthy();
    await view().getByRole('button', { name: `More like ${tracks[0]!.name}` }).focus();
    await host.page.keyboard.press('Shift+Tab');
    await host.page.keyboard.press('Tab');
    const before = host.calls.length;
    await host.page.keyboard.press('Enter');
    await host.rendered(2);
    expect(host.calls.slice(before)).toEqual([{ name: 'similar_tracks', arguments: { seed_tracks: [tracks[0]!.track_id], limit: 5 } }]);
  });

  it('"copy as Spotify links / URIs" gives one open.spotify.com link or spotify:track: URI per track, in order', async () => {
    const r = await host.show('recommend_by_genre', { genre: 'r&b', limit: 4 });
    const ids = tracksOf(r).map((t) => t.track_id);
    const before = host.calls.length;
    await view().getByRole('button', { name: 'Copy as Spotify links' }).click();
    expect(await view().getByLabel('Copied Spotify links or URIs').inputValue()).toBe(ids.map((id) => `https://open.spotify.com/track/${id}`).join('\n'));
    await view().getByRole('button', { name: 'Copy as Spotify URIs' }).click();
    expect(await view().getByLabel('Copied Spotify links or URIs').inputValue()).toBe(ids.map((id) => `spotify:track:${id}`).join('\n'));
    expect(host.calls.length).toBe(before);
  });

  it('follows the host theme (dark and back) and stacks the charts on a narrow host', async () => {
    await host.show('recommend_by_genre', { genre: 'rap', limit: 4 }, 'dark');
    const background = () => view().locator('body').evaluate((b: any) => (globalThis as any).getComputedStyle(b).backgroundColor as string);
    expect(await view().locator('html').getAttribute('data-theme')).toBe('dark');
    expect(await background()).toBe('rgb(22, 24, 28)');
    await host.screenshot(join(OUT, 'dark.png'));
    await host.page.evaluate(() => (globalThis as unknown as { setViewTheme(t: string): Promise<void> }).setViewTheme('light'));
    await expect.poll(background).toBe('rgb(255, 255, 255)');
    await host.page.setViewportSize({ width: 420, height: 900 });
    const arc = (await view().locator('.arc-figure').boundingBox())!;
    const sc = (await view().locator('.scatter').boundingBox())!;
    expect(sc.y).toBeGreaterThanOrEqual(arc.y + arc.height);
    await host.screenshot(join(OUT, 'narrow.png'));
    await host.page.setViewportSize({ width: 960, height: 900 });
  });

  it('shows a tool error as an alert instead of a list', async () => {
    const r = await host.show('tracks_by_artist', { artist: 'no such artist zzzq' });
    expect(r.isError).toBe(true);
    expect(await view().getByRole('alert').textContent()).toBe(r.content[0]!.text);
    expect(await view().locator('.card').count()).toBe(0);
  });
});
