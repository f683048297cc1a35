/**
 * Co-credit splitting on a ", "-joined rewrite of the default dataset: does every artist keep the track
 * count it has in the ';'-joined original? Reads the file, rewrites each `artists` cell in memory
 * (`A;B` → `A, B`), runs both through the ingest's credit splitter (src/pipeline/credits.ts), and
 * compares per-artist track counts (artists keyed by the folded name), beside a naive split on every
 * ", " as the baseline. Prints a JSON summary and the artists whose counts differ.
 *
 *   npx tsx bench/credits.ts            # --file=… (default ../shared/data/spotify_tracks_maharshipandya.csv)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { CreditCellCounter, CreditSplitter, CREDIT_JOIN, foldName } from '../src/pipeline/credits.js';
import { CsvTokenizer } from '../src/pipeline/csv-tokenizer.js';
import { PROJECT_ROOT } from '../src/paths.js';

const arg = process.argv.find((a) => a.startsWith('--file='));
const file = arg ? arg.slice('--file='.length) : join(PROJECT_ROOT, '..', 'shared', 'data', 'spotify_tracks_maharshipandya.csv');

/** (track_id, artists cell) of every data row. */
async function readCredits(path: string): Promise<[string, string][]> {
  const rows: [string, string][] = [];
  let idAt = -1;
  let artistsAt = -1;
  const tokenizer = new CsvTokenizer();
  const sink = (cells: string[], _line: number, blank: boolean): void => {
    if (idAt < 0) {
      idAt = cells.indexOf('track_id');
      artistsAt = cells.indexOf('artists');
      return;
    }
    if (!blank) rows.push([cells[idAt]!, cells[artistsAt]!]);
  };
  tokenizer.write(await readFile(path), sink);
  tokenizer.end(sink);
  return rows;
}

/** Per-artist distinct track counts after splitting every cell with a splitter made from the same cells. */
export function artistTrackCounts(
  rows: readonly [string, string][],
  fixed?: string,
): { counts: Map<string, number>; splitter: CreditSplitter } {
  const counter = new CreditCellCounter();
  for (const [id, cell] of rows) counter.add(cell, id);
  const splitter = fixed === undefined ? CreditSplitter.fromCells('artists', counter.cells) : CreditSplitter.fixed('artists', fixed);
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const [id, cell] of rows) {
    const joined = splitter.split(cell);
    if (joined === null) continue;
    for (const name of joined.split(CREDIT_JOIN)) {
      const key = foldName(name);
      if (key.length === 0 || seen.has(`${id}\u0000${key}`)) continue;
      seen.add(`${id}\u0000${key}`);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return { counts, splitter };
}

const started = performance.now();
const load = loadavg();
const original = await readCredits(file);
const commaJoined = original.map(([id, cell]): [string, string] => [id, cell.split(';').map((s) => s.trim()).join(', ')]);
const before = artistTrackCounts(original);
const after = artistTrackCounts(commaJoined);
/** Baseline: every ", " taken for a separator (no name kept whole). */
const naive = artistTrackCounts(commaJoined, ', ');
const naiveMatching = [...before.counts].filter(([artist, n]) => naive.counts.get(artist) === n).length;
const differ: { artist: string; original: number; commaJoined: number }[] = [];
for (const [artist, n] of before.counts) {
  const m = after.counts.get(artist) ?? 0;
  if (m !== n) differ.push({ artist, original: n, commaJoined: m });
}
differ.sort((a, b) => b.original - a.original || a.artist.localeCompare(b.artist));
const matching = before.counts.size - differ.length;
process.stdout.write(
  `${JSON.stringify(
    {
      file,
      rows: original.length,
      artists: before.counts.size,
      artistsMatching: matching,
      shareMatching: Number((matching / before.counts.size).toFixed(4)),
      naiveSplitMatching: naiveMatching,
      naiveShareMatching: Number((naiveMatching / before.counts.size).toFixed(4)),
      original: before.splitter.report(),
      commaJoined: after.splitter.report(),
      differ: differ.length,
      ms: Math.round(performance.now() - started),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, loadAverage: load.map((x) => Number(x.toFixed(2))) },
    },
    null,
    2,
  )}\n`,
);
for (const d of differ) process.stdout.write(`${JSON.stringify(d.artist)}: ${d.original} → ${d.commaJoined}\n`);
