/**
 * Spotify client throughput against its rate cap, on the loopback double.
 *
 *   npx tsx bench/spotify-throughput.ts [--rps=20] [--seconds=15] [--latency=0] [--concurrency=10] [--mode=extended]
 *
 * `--latency` takes a comma list (simulated server round trip, ms) and runs one scenario per value.
 * 64 callers keep the client saturated with a mix of artist gets, searches and album pages; the
 * double records every arrival. Reported: requests that arrived, achieved requests/second against
 * the cap (target >= 95%), the most arrivals in any 1-second window (must be <= the cap), and call
 * latency percentiles (queueing included). Results go to stdout: this is a benchmark, not the server.
 */
import { performance } from 'node:perf_hooks';
import { SpotifyClient } from '../src/spotify/index.js';
import { startSpotifyDouble, type DoubleMode } from '../tests/helpers/spotify-double.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? ''] as const;
  }),
);
const rps = Number(args.get('rps') ?? 20);
const seconds = Number(args.get('seconds') ?? 15);
const concurrency = Number(args.get('concurrency') ?? 10);
const mode = (args.get('mode') ?? 'extended') as DoubleMode;
const latencies = (args.get('latency') ?? '0').split(',').map(Number);
const CALLERS = 64;

interface Row {
  latencyMs: number;
  requests: number;
  achieved: number;
  pctOfCap: number;
  maxIn1s: number;
  p50: number;
  p95: number;
  errors: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

async function scenario(latencyMs: number): Promise<Row> {
  const double = await startSpotifyDouble({ mode, latencyMs });
  const client = new SpotifyClient({
    clientId: double.clientId,
    clientSecret: double.clientSecret,
    apiBaseUrl: double.apiBaseUrl,
    accountsUrl: double.accountsUrl,
    maxRps: rps,
    concurrency,
  });
  const artists = [...double.catalog.artists.values()];
  const names = ['Nirvana', 'Lantern', 'Bush', 'Daft Punk', 'Beyonce'];
  await client.getArtist(artists[0]!.id); // token + warm connection, not measured
  double.resetStats();

  const callLatencies: number[] = [];
  let errors = 0;
  let i = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < deadline) {
        const n = i++;
        const t0 = performance.now();
        try {
          if (n % 3 === 0) await client.searchArtists(names[n % names.length]!, { limit: 10 });
          else if (n % 3 === 1) await client.getArtistAlbums(artists[n % artists.length]!.id, { limit: 10 });
          else await client.getArtist(artists[n % artists.length]!.id);
          callLatencies.push(performance.now() - t0);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const inWindow = double.requests.filter((r) => r.pathname.startsWith('/v1/') && r.at >= start && r.at < deadline);
  const requests = inWindow.length;
  const achieved = requests / seconds;
  const row: Row = {
    latencyMs,
    requests,
    achieved,
    pctOfCap: (100 * achieved) / rps,
    maxIn1s: double.maxInWindow(1000),
    p50: pct(callLatencies, 50),
    p95: pct(callLatencies, 95),
    errors,
  };
  await client.close();
  await double.close();
  return row;
}

const rows: Row[] = [];
for (const latency of latencies) rows.push(await scenario(latency));

const fmt = (n: number, d = 0) => n.toFixed(d);
console.log(`Spotify client throughput — cap ${rps} req/s, ${seconds} s per scenario, concurrency ${concurrency}, ${CALLERS} callers, double in ${mode} mode`);
console.log('| server latency ms | requests | achieved req/s | % of cap | max in any 1 s | call p50 ms | call p95 ms | errors |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.latencyMs} | ${r.requests} | ${fmt(r.achieved, 2)} | ${fmt(r.pctOfCap, 1)}% | ${r.maxIn1s} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${r.errors} |`,
  );
}
const failed = rows.filter((r) => r.maxIn1s > rps || r.errors > 0);
if (failed.length) {
  console.log('FAIL: the cap was exceeded or calls failed');
  process.exitCode = 1;
}
