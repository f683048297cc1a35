/**
 * Where a snapshot load's time, memory and event-loop stalls go, step by step, in this process: the
 * file read, the decode of the catalog's parts, the indexes, the checksums, the search file, the artist
 * index and the title index with the metric's tree (`Catalog.indexSteps`). After each step: its wall
 * time, the longest event-loop delay during it, and RSS, JS heap and array buffers after two forced
 * collections.
 *
 *   node --expose-gc --import tsx bench/load-steps.ts <MUSIC_DATA_DIR>
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Catalog } from '../src/catalog/catalog.js';
import { attachSearchIndex } from '../src/catalog/search-index.js';
import { runSliced } from '../src/catalog/slices.js';
import { currentVersion, decodeCatalogParts, openUnverified } from '../src/catalog/snapshot.js';
import { silentLogger } from '../src/log.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: node --expose-gc --import tsx bench/load-steps.ts <MUSIC_DATA_DIR>');
const dir = join(dataDir, 'snapshots');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) process.stderr.write('run with --expose-gc for memory after collections\n');
const MiB = (b: number) => (b / 2 ** 20).toFixed(0);
const memory = () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return `RSS ${MiB(m.rss)} MiB, heap ${MiB(m.heapUsed)} MiB, array buffers ${MiB(m.arrayBuffers)} MiB`;
};
const delay = monitorEventLoopDelay({ resolution: 5 });
let at = performance.now();
const step = async (name: string) => {
  const now = performance.now();
  // One more turn of the loop: the delay of the last task of the step is recorded when the loop comes back.
  await new Promise((resolve) => setTimeout(resolve, 0));
  console.log(`${name.padEnd(24)} ${(now - at).toFixed(0).padStart(6)} ms, longest stall ${(delay.max / 1e6).toFixed(0).padStart(4)} ms; ${memory()}`);
  delay.reset();
  at = performance.now();
};
console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}; ${cpus()[0]?.model.trim()} × ${cpus().length}; Node ${process.version}`);
await step('start');
delay.enable();
const version = (await currentVersion(dir))!;
const { opened, verified } = await openUnverified(dir, version);
await step('files read');
const parts = await decodeCatalogParts(opened);
await step('parts decoded');
const catalog = await Catalog.load(parts);
await step('indexes built');
await verified;
await step('checksums matched');
await attachSearchIndex(catalog, join(dir, version), silentLogger);
await step('search file read');
await runSliced(catalog.nameSteps());
await step('artist index read');
await runSliced(catalog.indexSteps());
await step('title index + k-d tree');
delay.disable();
console.log(`${catalog.size.toLocaleString('en-US')} tracks; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
