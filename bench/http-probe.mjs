/**
 * Server-side probe for bench/http-load.ts, loaded into the server under test with
 * `node --import ./bench/http-probe.mjs …` (the product's server or bench/minimal-sdk-server.ts alike).
 * It measures, inside the server, what the load generator cannot see apart from its own queueing:
 *
 * - each HTTP request's time from its arrival (headers parsed, node:http `request`) to the end of its
 *   response (`http.server.response.finish`), from node:diagnostics_channel;
 * - the event loop's delay (perf_hooks monitorEventLoopDelay, 1 ms resolution);
 * - garbage-collection pauses (a PerformanceObserver of `gc` entries, by kind);
 * - the process's CPU time.
 *
 * On SIGUSR2 it writes one line `http-probe {json}` to stderr with the figures since the previous SIGUSR2
 * (or start) and starts over, so the bench brackets exactly its measured window. Nothing is written otherwise.
 */
import { channel } from 'node:diagnostics_channel';
import { createHistogram, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

const started = new WeakMap();
/** Server-side request latency in microseconds (histograms record integers). */
let requests = createHistogram();
channel('http.server.request.start').subscribe(({ request }) => started.set(request, process.hrtime.bigint()));
channel('http.server.response.finish').subscribe(({ request }) => {
  const t = started.get(request);
  if (t !== undefined) requests.record(Math.max(1, Number((process.hrtime.bigint() - t) / 1000n)));
});

const GC_KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
let gc = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = GC_KINDS[e.detail?.kind ?? e.kind] ?? 'other';
    const g = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0, over10ms: 0 });
    g.count++;
    g.totalMs += e.duration;
    g.maxMs = Math.max(g.maxMs, e.duration);
    if (e.duration > 10) g.over10ms++;
  }
}).observe({ entryTypes: ['gc'] });

let cpu = process.cpuUsage();
let since = performance.now();
const q = (h, p, scale) => h.count === 0 ? null : h.percentile(p) / scale;

process.on('SIGUSR2', () => {
  const used = process.cpuUsage(cpu);
  const report = {
    pid: process.pid,
    seconds: (performance.now() - since) / 1000,
    cpuMs: (used.user + used.system) / 1000,
    requests: { count: requests.count, p50: q(requests, 50, 1e3), p90: q(requests, 90, 1e3), p99: q(requests, 99, 1e3), max: requests.count ? requests.max / 1e3 : null },
    loopDelay: { p50: q(loopDelay, 50, 1e6), p99: q(loopDelay, 99, 1e6), max: loopDelay.max / 1e6, mean: loopDelay.mean / 1e6 },
    gc,
  };
  process.stderr.write(`http-probe ${JSON.stringify(report)}\n`);
  requests = createHistogram();
  loopDelay.reset();
  gc = {};
  cpu = process.cpuUsage();
  since = performance.now();
});
