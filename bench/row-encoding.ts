/**
 * The per-row work of a staging load that does not touch the file or the database: the row hash
 * (src/pipeline/row-hash.ts) and the binary COPY encoding (src/warehouse/pg-copy.ts#encodeTrackRows)
 * of 113,549 rows (the default dataset's count) with seeded values. Prints the median of 7 passes of
 * each as JSON, with the load average and CPU. To compare two versions of the code, run it in both
 * checkouts alternately, twice, on the same machine, and compare the ratios.
 *
 *   npx tsx bench/row-encoding.ts            # --rows=N (113549) --passes=N (7)
 */
import { performance } from 'node:perf_hooks';
import { rowHash } from '../src/pipeline/row-hash.js';
import { encodeTrackRows } from '../src/warehouse/pg-copy.js';
import type { StagedTrack } from '../src/warehouse/staging.js';
import { loadAverage, machineNotes, median, numArg, parseArgs, prng } from './lib.js';

const args = parseArgs();
const count = numArg(args, 'rows', 113_549);
const passes = numArg(args, 'passes', 7);
const random = prng(1);

const rows: StagedTrack[] = Array.from({ length: count }, (_, i) => ({
  row_key: `k${i}`, source_schema: 'maharshipandya', source_file: 'dataset.csv', source_line: i + 2,
  track_id: `t${String(i).padStart(21, '0')}`, track_name: `Name ${i}`, artist_names: 'Some Artist', artist_credits: 'Some Artist',
  album_id: null, album_name: 'Album', album_release_date: null, playlist_id: null, playlist_name: null,
  genre: 'acoustic', subgenre: null, popularity: i % 101, duration_ms: 200_000 + i, explicit: i % 3 === 0,
  danceability: random(), energy: random(), key: i % 12, loudness: -random() * 20, mode: i % 2, speechiness: random(),
  acousticness: random(), instrumentalness: random(), liveness: random(), valence: random(), tempo: 60 + random() * 100,
  time_signature: 4, row_hash: '',
}));

const hashMs: number[] = [];
const encodeMs: number[] = [];
for (let pass = 0; pass < passes; pass++) {
  let t = performance.now();
  for (const row of rows) row.row_hash = rowHash(row);
  hashMs.push(performance.now() - t);
  t = performance.now();
  encodeTrackRows(rows);
  encodeMs.push(performance.now() - t);
}
console.log(JSON.stringify({
  rows: count, passes, hash_ms: Number(median(hashMs).toFixed(1)), encode_ms: Number(median(encodeMs).toFixed(1)),
  load: loadAverage(), machine: machineNotes(),
}));
