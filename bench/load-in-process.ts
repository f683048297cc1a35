/**
 * The server's catalog load (`loadCatalog` of a checkout's compiled `dist/`) in a fresh process per
 * checkout, checkouts taking turns: load time and the longest event-loop delay during it.
 *
 *   npx tsx bench/load-in-process.ts --data=<MUSIC_DATA_DIR> [--checkout=<dir>]... [--reps=3] [--rounds=1]
 *
 * Each checkout (default: this one) must have a built `dist/` (`npm run build`). A checkout may name
 * its own data dir as `<dir>=<MUSIC_DATA_DIR>` (an older checkout reads an older snapshot). Prints one
 * JSON line per process: median and minimum load of `--reps` loads, the median time to put name
 * resolution's artist index in after a load (`catalog.names`, at once; 0 where the load built it), the
 * longest event-loop delay during the loads, the load average.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const CHILD = `
const [checkout, data, reps] = process.argv.slice(1);
const { loadCatalog } = await import(checkout + '/dist/src/catalog/holder.js');
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const { readFileSync } = await import('node:fs');
const dir = data + '/snapshots';
const version = readFileSync(dir + '/CURRENT', 'utf8').trim();
const times = [];
const names = [];
let stall = 0;
for (let i = 0; i < Number(reps); i++) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t = performance.now();
  const c = await loadCatalog(dir, version);
  times.push(performance.now() - t);
  h.disable();
  stall = Math.max(stall, h.max / 1e6);
  const n = performance.now();
  c.names; // name resolution's artist index, where the checkout puts it in after the load (at once here: no slices)
  names.push(performance.now() - n);
  if (c.indexOf(c.columns.trackId.at(c.size >> 1)) !== c.size >> 1) throw new Error('id lookup failed');
}
times.sort((a, b) => a - b);
names.sort((a, b) => a - b);
console.log(JSON.stringify({ medianMs: Math.round(times[(times.length - 1) >> 1]), minMs: Math.round(times[0]), namesMedianMs: Math.round(names[(names.length - 1) >> 1]), longestStallMs: Math.round(stall) }));
`;

const { values } = parseArgs({ options: { data: { type: 'string' }, checkout: { type: 'string', multiple: true }, reps: { type: 'string', default: '3' }, rounds: { type: 'string', default: '1' } } });
const targets = (values.checkout ?? ['.']).map((c) => {
  const [dir, data] = c.split('=');
  const dataDir = data ?? values.data;
  if (!dataDir) throw new Error(`no data dir for ${dir}: pass --data=<MUSIC_DATA_DIR> or --checkout=<dir>=<MUSIC_DATA_DIR>`);
  return { checkout: resolve(dir!), dataDir: resolve(dataDir) };
});
for (let round = 0; round < Number(values.rounds); round++) {
  for (const t of targets) {
    const before = loadavg().map((x) => x.toFixed(2)).join(' ');
    const r = spawnSync(process.execPath, ['--max-old-space-size=8192', '--input-type=module', '-e', CHILD, t.checkout, t.dataDir, values.reps!], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`load in ${t.checkout} failed: ${r.stderr.slice(-1000)}`);
    console.log(JSON.stringify({ ...t, ...JSON.parse(r.stdout.trim().split('\n').pop()!), loadAverage: before, cpu: `${cpus()[0]?.model.trim()} × ${cpus().length}` }));
  }
}
