// Renders the playlist view (MCP App) of all four list tools over any built data dir in Chromium, checks
// each render against the tool's answer (cards and energy points in list order, one action end to end)
// and saves screenshots:
//   npm run view:screenshots -- --data-dir /path/to/data [--out test-output/view-screenshots] [--genre latin]
//     [--limit 8] [--width 960]
// The data dir is one `npm run pipeline` built (MUSIC_DATA_DIR). Exits 1 when a render does not match.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PLAYLIST_VIEW_FILE } from '../src/app/playlist-view.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { memoryClient } from './lib/memory-client.js';
import { optionValues } from './eval-data.js';
import { openViewHost, type ToolAnswer } from './view-host.js';

const args = process.argv.slice(2);
const dataDir = optionValues(args, '--data-dir')[0];
if (!dataDir) {
  process.stderr.write('usage: npm run view:screenshots -- --data-dir <built data dir> [--out <folder>] [--genre <genre>] [--limit <tracks>] [--width <px>]\n');
  process.exit(2);
}
const out = resolve(optionValues(args, '--out')[0] ?? join(PROJECT_ROOT, 'test-output', 'view-screenshots'));
mkdirSync(out, { recursive: true });
const limit = Number(optionValues(args, '--limit')[0] ?? 8);
const width = Number(optionValues(args, '--width')[0] ?? 960);
if (!(Number.isInteger(limit) && limit >= 2 && limit <= 100) || !(Number.isInteger(width) && width >= 320 && width <= 2000)) {
  process.stderr.write('--limit takes a whole number from 2 to 100, --width one from 320 to 2000 (pixels)\n');
  process.exit(2);
}

const m = memoryClient(resolve(dataDir), 'view-screenshots');
await m.open();
const host = await openViewHost(m.client, { width });
const failures: string[] = [];
type T = { track_id: string; artists: string[]; features: { energy: number } };
const tracksOf = (r: ToolAnswer) => (r.structuredContent?.tracks ?? []) as T[];

async function check(label: string, expected: T[]): Promise<void> {
  const view = host.view();
  const ids = await view.locator('.card').evaluateAll((els) => els.map((e) => e.getAttribute('data-track-id')));
  const energy = await view.locator('.arc .points.s-energy circle').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
  const outliers = await view.locator('.card.outlier').count();
  const band = await view.locator('.scatter .band').getAttribute('data-energy').catch(() => null);
  const ok = JSON.stringify(ids) === JSON.stringify(expected.map((t) => t.track_id)) && JSON.stringify(energy) === JSON.stringify(expected.map((t) => t.features.energy));
  if (!ok || !expected.length) failures.push(`${label}: the view does not show the tool's list`);
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${expected.length} cards, ${energy.length} energy points, ${outliers} outliers, genre energy band ${band ?? 'none'}\n`);
  await host.screenshot(join(out, `${label}.png`));
}

try {
  const genre =
    optionValues(args, '--genre')[0] ??
    [...m.catalog().genres].filter((g) => g.genre_level === 'genre').sort((a, b) => b.track_count - a.track_count)[0]!.genre;
  process.stdout.write(`genre ${genre}, ${limit} tracks a list\n`);
  const rec = await host.show('recommend_by_genre', { genre, limit });
  await check('recommend_by_genre', tracksOf(rec));
  const first = tracksOf(rec)[0]!;
  await check('similar_tracks', tracksOf(await host.show('similar_tracks', { seed_tracks: [first.track_id], limit })));
  await check('sequence_playlist', tracksOf(await host.show('sequence_playlist', { tracks: tracksOf(rec).map((t) => t.track_id), arc: 'peak' })));
  await check('tracks_by_artist', tracksOf(await host.show('tracks_by_artist', { artist: first.artists[0]!, limit })));
  // One action end to end: "re-sequence as rising" on the recommendation.
  await host.show('recommend_by_genre', { genre, limit }, 'dark');
  await host.view().getByLabel('Arc to re-sequence as').selectOption('rising');
  await host.view().getByRole('button', { name: 'Re-sequence' }).click();
  await host.rendered(2);
  const call = host.calls.at(-1);
  const rising = tracksOf(await m.call('sequence_playlist', { tracks: tracksOf(rec).map((t) => t.track_id), arc: 'rising' }));
  if (call?.name !== 'sequence_playlist' || call.arguments.arc !== 'rising') failures.push('re-sequence: no sequence_playlist call with arc rising');
  await check('resequenced_rising_dark', rising);
  if (host.problems.length) failures.push(...host.problems.map((p) => `console: ${p}`));
  const html = readFileSync(PLAYLIST_VIEW_FILE);
  process.stdout.write(`view bundle ${PLAYLIST_VIEW_FILE}: ${html.length} bytes, ${gzipSync(html).length} gzip\nscreenshots in ${out}\n`);
} finally {
  await host.close();
  await m.close();
}
if (failures.length) {
  process.stderr.write(`${failures.join('\n')}\n`);
  process.exit(1);
}
