/**
 * Apache Arrow IPC against the snapshot's own typed-array segments, for the same columns: the per-track
 * table of a published catalog (track_id, track_name, album_id strings; album, song_index as i32;
 * explicit as i8; release_year, popularity, duration_ms, key, mode, time_signature and every audio
 * feature as f64).
 *
 *   npx tsx bench/arrow-vs-segments.ts --data-dir=DIR [--reps=7]
 *
 * Per format and repetition, alternating: write = encode + one writeFile; load = one readFile, then
 * what the server needs in hand: every numeric column as a typed array and every string column as a JS
 * string array. Arrow: `tableToIPC(table, 'file')` / `tableFromIPC` (numeric vectors of one chunk are
 * views, `toArray()` copies nothing), strings through the vector's `get`. Own: `SegmentWriter` /
 * `SegmentReader` (views; strings: one UTF-8 decode per column, one slice per row). Medians; bytes on
 * disk; a check that both give back the same values.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeVector, tableFromIPC, tableToIPC, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { runNow } from '../src/catalog/slices.js';
import { readSnapshot, TRACK_FEATURES } from '../src/catalog/snapshot.js';
import { SegmentReader, SegmentWriter, type NumericColumn } from '../src/catalog/segments.js';
import { builtDataDir, emit, log, machineNotes, median, ms, numArg, parseArgs, REPO_ROOT, today } from './lib.js';

interface Columns { strings: Record<string, (string | null)[]>; numbers: Record<string, NumericColumn> }

function columnsOf(s: Awaited<ReturnType<typeof readSnapshot>>): Columns {
  const t = s.tracks;
  const albums = new Map<string, number>();
  const nums = (xs: readonly (number | null)[]) => Float64Array.from(xs, (v) => v ?? NaN);
  const numbers: Record<string, NumericColumn> = {
    album: Int32Array.from(t.album_name, (a) => (a === null ? -1 : albums.get(a) ?? (albums.set(a, albums.size), albums.size - 1))),
    song_index: Int32Array.from(t.canonical_track_id, (_c, i) => i),
    explicit: Int8Array.from(t.explicit, (e) => (e === null ? -1 : e ? 1 : 0)),
    release_year: nums(t.release_year), popularity: nums(t.popularity), duration_ms: nums(t.duration_ms), key: nums(t.key), mode: nums(t.mode),
    time_signature: nums(t.time_signature),
  };
  for (const f of TRACK_FEATURES) numbers[`feature.${f}`] = nums(t.features[f]);
  return { strings: { track_id: t.track_id, track_name: t.track_name, album_id: t.album_id }, numbers };
}

function ownWrite(c: Columns): { chunks: Uint8Array[]; w: SegmentWriter } {
  const w = new SegmentWriter();
  for (const [name, v] of Object.entries(c.strings)) w.strings(name, v);
  for (const [name, v] of Object.entries(c.numbers)) w.numbers(name, v);
  return { chunks: w.chunks, w };
}

function ownRead(bytes: Uint8Array, w: SegmentWriter, c: Columns): Columns {
  const r = new SegmentReader(bytes, w.entries);
  const strings = Object.fromEntries(Object.keys(c.strings).map((name) => [name, runNow(r.strings(name))]));
  const view = (name: string, v: NumericColumn): NumericColumn =>
    v instanceof Float64Array ? r.f64(name) : v instanceof Int32Array ? r.i32(name) : r.i8(name);
  const numbers = Object.fromEntries(Object.entries(c.numbers).map(([name, v]) => [name, view(name, v)]));
  return { strings, numbers };
}

function arrowWrite(c: Columns): Uint8Array {
  const vectors: Record<string, Vector> = {};
  for (const [name, v] of Object.entries(c.strings)) vectors[name] = vectorFromArray(v, new Utf8());
  for (const [name, v] of Object.entries(c.numbers)) vectors[name] = makeVector(v as Float64Array);
  return tableToIPC(new Table(vectors), 'file');
}

function arrowRead(bytes: Uint8Array, c: Columns): Columns {
  const table = tableFromIPC(bytes);
  const strings: Record<string, (string | null)[]> = {};
  for (const name of Object.keys(c.strings)) {
    const v = table.getChild(name)!;
    const out = new Array<string | null>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v.get(i) as string | null;
    strings[name] = out;
  }
  const numbers = Object.fromEntries(Object.keys(c.numbers).map((name) => [name, table.getChild(name)!.toArray() as NumericColumn]));
  return { strings, numbers };
}

function same(a: Columns, b: Columns): boolean {
  for (const k of Object.keys(a.strings)) if (a.strings[k]!.some((v, i) => v !== b.strings[k]![i])) return false;
  for (const k of Object.keys(a.numbers)) if (a.numbers[k]!.some((v, i) => !Object.is(v, b.numbers[k]![i]))) return false;
  return true;
}

async function main(): Promise<void> {
  const args = parseArgs();
  const reps = numArg(args, 'reps', 7);
  const { dir, cleanup } = await builtDataDir(args);
  const out = mkdtempSync(join(tmpdir(), 'music-mcp-arrow-'));
  try {
    const snap = await readSnapshot(join(dir, 'snapshots'));
    const cols = columnsOf(snap);
    const n = snap.tracks.track_id.length;
    const times = { ownWrite: [] as number[], ownLoad: [] as number[], arrowWrite: [] as number[], arrowLoad: [] as number[] };
    let ownBytes = 0;
    let arrowBytes = 0;
    let agree = true;
    for (let rep = 0; rep < reps + 1; rep++) {
      const counted = rep > 0; // the first round warms up
      let t = performance.now();
      const own = ownWrite(cols);
      await writeFile(join(out, 'columns.bin'), own.chunks);
      if (counted) times.ownWrite.push(performance.now() - t);
      ownBytes = own.w.byteLength;
      t = performance.now();
      const o = ownRead(await readFile(join(out, 'columns.bin')), own.w, cols);
      if (counted) times.ownLoad.push(performance.now() - t);

      t = performance.now();
      const ipc = arrowWrite(cols);
      await writeFile(join(out, 'columns.arrow'), ipc);
      if (counted) times.arrowWrite.push(performance.now() - t);
      arrowBytes = ipc.byteLength;
      t = performance.now();
      const a = arrowRead(await readFile(join(out, 'columns.arrow')), cols);
      if (counted) times.arrowLoad.push(performance.now() - t);
      if (rep === 0) agree = same(o, cols) && same(a, cols);
    }
    log(`arrow vs segments: ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])))}`);
    const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}×`;
    emit(args, 'arrow-vs-segments', `
## Apache Arrow IPC vs own segments, same columns (\`bench/arrow-vs-segments.ts\`)

\`\`\`sh
npx tsx bench/arrow-vs-segments.ts --data-dir=DIR --reps=${reps}
\`\`\`

The per-track table of ${snap.manifest.source.dataset} (${n.toLocaleString('en-US')} tracks): 3 string columns
(track_id, track_name, album_id), 2 \`i32\`, 1 \`i8\`, ${Object.keys(cols.numbers).length - 3} \`f64\`. Write = encode + \`writeFile\`; load =
\`readFile\` + every numeric column as a typed array + every string column as a JS string array (what
the server holds). apache-arrow ${ARROW_VERSION}; ${reps} rounds after one warm-up, alternating, medians.
Both give back the same values: ${agree ? 'yes' : '**no**'}. **Machine**: ${machineNotes()}. ${today()}.

| | own segments | Arrow IPC (file) | Arrow ÷ own |
|---|---:|---:|---:|
| write ms | ${ms(median(times.ownWrite))} | ${ms(median(times.arrowWrite))} | ${ratio(times.arrowWrite, times.ownWrite)} |
| load ms | ${ms(median(times.ownLoad))} | ${ms(median(times.arrowLoad))} | ${ratio(times.arrowLoad, times.ownLoad)} |
| bytes | ${ownBytes.toLocaleString('en-US')} | ${arrowBytes.toLocaleString('en-US')} | ${(arrowBytes / ownBytes).toFixed(2)}× |
`);
  } finally {
    rmSync(out, { recursive: true, force: true });
    cleanup();
  }
}

const ARROW_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/apache-arrow/package.json'), 'utf8')) as { version: string }).version;

await main();
