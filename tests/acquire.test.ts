import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { acquireDataset, type DatasetSidecar } from '../src/pipeline/acquire.js';
import { MAHARSHIPANDYA, TIDYTUESDAY } from '../src/pipeline/csv-schemas.js';
import { DATASET_PATH } from './helpers/dataset.js';
import { closedPortUrl, startFixtureServer, type FixtureServer } from './helpers/http-fixture-server.js';

/** sha256 of the shared TidyTuesday file as recorded in ../shared/data/PROVENANCE.md. */
const PROVENANCE_SHA256 = '9902920cfe4940f0914ebb6716801a42f7f19ac88fbd6693eaae7e2822b16845';

/** A small CSV in the Kaggle (maharshipandya) layout, with a quoted header cell and a quoted comma. */
const SMALL_CSV = Buffer.from(
  [
    ',track_id,artists,album_name,"track_name",popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,' +
      'speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre',
    ...Array.from({ length: 200 }, (_, i) =>
      `${i},id${i},Artist ${i};Guest,"Album, Vol. ${i}",Song ${i},${i % 100},200000,False,0.5,0.6,5,-6.1,1,0.04,0.2,0,0.1,0.5,120.0,4,pop`,
    ),
  ].join('\n') + '\n',
);

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let dataDir: string;
let server: FixtureServer | undefined;
const datasetsDir = () => join(dataDir, 'datasets');
const filesInDatasets = () => (existsSync(datasetsDir()) ? readdirSync(datasetsDir()) : []);

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'music-acquire-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

/** Run acquireDataset and return the DatasetError it throws (fails the test if it resolves or throws something else). */
async function failure(p: Promise<unknown>): Promise<DatasetError> {
  const err = await p.then(
    () => { throw new Error('expected acquireDataset to fail'); },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  return err as DatasetError;
}

describe('local dataset path', () => {
  it('uses a local CSV in place, recognising its layout through a quoted header cell', async () => {
    const path = join(dataDir, 'mine.csv');
    writeFileSync(path, SMALL_CSV);
    const got = await acquireDataset({ source: path, dataDir, log: silentLogger });
    expect(got).toMatchObject({ path, origin: 'local', bytes: SMALL_CSV.length, sha256: sha(SMALL_CSV), source: path });
    expect(got.schema.name).toBe(MAHARSHIPANDYA.name);
    expect(got.header[4]).toBe('track_name');
    expect(filesInDatasets()).toEqual([]); // nothing copied
  });

  it('accepts the real TidyTuesday file by file:// URL and hashes all of it', async () => {
    const got = await acquireDataset({ source: pathToFileURL(DATASET_PATH).href, dataDir, log: silentLogger });
    const bytes = readFileSync(DATASET_PATH);
    expect(got.origin).toBe('local');
    expect(got.schema.name).toBe(TIDYTUESDAY.name);
    expect(got.bytes).toBe(bytes.length);
    expect(got.sha256).toBe(sha(bytes));
    if (!process.env.MUSIC_DATASET) expect(got.sha256).toBe(PROVENANCE_SHA256);
  });

  it('names MUSIC_DATASET and the path when the file does not exist', async () => {
    const missing = join(dataDir, 'nope', 'dataset.csv');
    const err = await failure(acquireDataset({ source: missing, dataDir, log: silentLogger }));
    expect(err.message).toContain('MUSIC_DATASET');
    expect(err.message).toContain(missing);
    expect(err.message).toContain('does not exist');
  });

  it('rejects a local file whose header is not a known layout, quoting the schema check', async () => {
    const path = join(dataDir, 'other.csv');
    writeFileSync(path, 'a,b,c\n1,2,3\n');
    const err = await failure(acquireDataset({ source: path, dataDir, log: silentLogger }));
    expect(err.message).toContain('unrecognised CSV header ("a","b","c")');
  });
});

describe('binary local files', () => {
  it.each([
    ['songs.csv.gz', gzipSync(SMALL_CSV), /songs\.csv\.gz is gzip-compressed, not a CSV text file; decompress it first \(gunzip -k songs\.csv\.gz\)/],
    ['nul.csv', Buffer.alloc(50_000), /nul\.csv holds binary data \(a NUL byte on line 1, byte offset 0\), not CSV text/],
    ['utf16.csv', Buffer.from(SMALL_CSV.toString('utf8'), 'utf16le'), /utf16\.csv looks like UTF-16 text without a byte-order mark; save it as UTF-8/],
  ])('%s is refused before its header is parsed, in one printable line', async (name, bytes, message) => {
    const path = join(dataDir, name);
    writeFileSync(path, bytes);
    const err = await failure(acquireDataset({ source: path, dataDir, log: silentLogger }));
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`MUSIC_DATASET file ${path}`);
    expect(err.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd\n]/);
  });
});

describe('download over HTTP', () => {
  it('downloads into datasets/, matching the served bytes and sha256, and writes a sidecar', async () => {
    server = await startFixtureServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': SMALL_CSV.length, etag: '"v1"' });
      res.end(SMALL_CSV);
    });
    const url = `${server.origin}/datasets/x/resolve/main/dataset.csv`;
    const got = await acquireDataset({ source: url, dataDir, log: silentLogger });
    const finalPath = join(datasetsDir(), 'dataset.csv');
    expect(got).toMatchObject({ path: finalPath, origin: 'downloaded', bytes: SMALL_CSV.length, sha256: sha(SMALL_CSV), source: url });
    expect(got.schema.name).toBe(MAHARSHIPANDYA.name);
    expect(readFileSync(finalPath).equals(SMALL_CSV)).toBe(true);
    const sidecar = JSON.parse(readFileSync(`${finalPath}.json`, 'utf8')) as DatasetSidecar;
    expect(sidecar).toMatchObject({ source: url, bytes: SMALL_CSV.length, sha256: sha(SMALL_CSV), etag: '"v1"' });
    expect(Number.isNaN(Date.parse(sidecar.downloadedAt))).toBe(false);
    expect(filesInDatasets().sort()).toEqual(['dataset.csv', 'dataset.csv.json']); // no part file left
  });

  it('reuses the cached copy on the next run without any request, and re-downloads on refresh', async () => {
    server = await startFixtureServer((_req, res) => {
      res.writeHead(200, { 'content-length': SMALL_CSV.length });
      res.end(SMALL_CSV);
    });
    const url = `${server.origin}/data/spotify.csv`;
    const first = await acquireDataset({ source: url, dataDir, log: silentLogger });
    expect(server.requests).toHaveLength(1);

    const second = await acquireDataset({ source: url, dataDir, log: silentLogger });
    expect(second.origin).toBe('cached');
    expect(second).toMatchObject({ path: first.path, bytes: first.bytes, sha256: first.sha256 });
    expect(server.requests).toHaveLength(1);

    const third = await acquireDataset({ source: url, dataDir, log: silentLogger, refresh: true });
    expect(third.origin).toBe('downloaded');
    expect(server.requests).toHaveLength(2);
  });

  it('does not take a cached file downloaded from a different URL', async () => {
    server = await startFixtureServer((_req, res) => res.end(SMALL_CSV));
    await acquireDataset({ source: `${server.origin}/a/dataset.csv`, dataDir, log: silentLogger });
    const other = await acquireDataset({ source: `${server.origin}/b/dataset.csv`, dataDir, log: silentLogger });
    expect(other.origin).toBe('downloaded');
    expect(server.requests).toEqual(['/a/dataset.csv', '/b/dataset.csv']);
  });

  it('follows redirects (Hugging Face resolve/ → CDN) and names the file after the requested URL', async () => {
    server = await startFixtureServer((req, res) => {
      if (req.url === '/resolve/main/dataset.csv') {
        res.writeHead(302, { location: '/hop' }).end();
      } else if (req.url === '/hop') {
        res.writeHead(307, { location: `${server!.origin}/cdn/blob-7f3a?sig=abc` }).end();
      } else {
        res.writeHead(200, { 'content-length': SMALL_CSV.length }).end(SMALL_CSV);
      }
    });
    const got = await acquireDataset({ source: `${server.origin}/resolve/main/dataset.csv`, dataDir, log: silentLogger });
    expect(server.requests).toEqual(['/resolve/main/dataset.csv', '/hop', '/cdn/blob-7f3a?sig=abc']);
    expect(got.path).toBe(join(datasetsDir(), 'dataset.csv'));
    expect(got.sha256).toBe(sha(SMALL_CSV));
  });

  it('gives up after 5 redirects with an error that says so', async () => {
    server = await startFixtureServer((req, res) => {
      const n = Number(req.url?.slice(1).split('.')[0]) || 0;
      res.writeHead(302, { location: `/${n + 1}.csv` }).end();
    });
    const err = await failure(acquireDataset({ source: `${server.origin}/0.csv`, dataDir, log: silentLogger }));
    expect(err.message).toContain('too many redirects');
    expect(server.requests).toHaveLength(6);
    expect(filesInDatasets()).toEqual([]);
  });

  it('rejects a truncated body (Content-Length larger than what arrives) and leaves no file', async () => {
    server = await startFixtureServer((_req, res) => {
      res.writeHead(200, { 'content-length': SMALL_CSV.length + 5000 });
      res.write(SMALL_CSV, () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const err = await failure(acquireDataset({ source: `${server.origin}/dataset.csv`, dataDir, log: silentLogger }));
    expect(err.message).toContain(`${SMALL_CSV.length} of ${SMALL_CSV.length + 5000} bytes`);
    expect(filesInDatasets()).toEqual([]);
  });

  it('reports HTTP 404 with the URL and how to use a local copy via MUSIC_DATASET', async () => {
    server = await startFixtureServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found'));
    const url = `${server.origin}/missing/dataset.csv`;
    const err = await failure(acquireDataset({ source: url, dataDir, log: silentLogger }));
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain(url);
    expect(err.message).toContain('MUSIC_DATASET=');
    expect(filesInDatasets()).toEqual([]);
  });

  it('reports HTTP 503 the same way', async () => {
    server = await startFixtureServer((_req, res) => res.writeHead(503).end());
    const err = await failure(acquireDataset({ source: `${server.origin}/dataset.csv`, dataDir, log: silentLogger }));
    expect(err.message).toMatch(/HTTP 503 .*MUSIC_DATASET=/);
  });

  it('fails a stalled body after idleTimeoutMs and removes the partial file', async () => {
    server = await startFixtureServer((_req, res) => {
      res.writeHead(200, { 'content-length': SMALL_CSV.length });
      res.write(SMALL_CSV.subarray(0, 100)); // then nothing, connection kept open
    });
    const started = Date.now();
    const err = await failure(
      acquireDataset({ source: `${server.origin}/dataset.csv`, dataDir, log: silentLogger, idleTimeoutMs: 300 }),
    );
    expect(err.message).toContain('stalled');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(filesInDatasets()).toEqual([]);
  });

  it('honours an AbortSignal mid-download and removes the partial file', async () => {
    const controller = new AbortController();
    server = await startFixtureServer((_req, res) => {
      res.writeHead(200, { 'content-length': SMALL_CSV.length });
      res.write(SMALL_CSV.subarray(0, 100), () => setTimeout(() => controller.abort(), 50));
    });
    const err = await failure(
      acquireDataset({ source: `${server.origin}/dataset.csv`, dataDir, log: silentLogger, signal: controller.signal }),
    );
    expect(err.message).toContain('cancelled');
    expect(filesInDatasets()).toEqual([]);
  });

  it('gives the offline message when the connection is refused', async () => {
    const url = await closedPortUrl();
    const err = await failure(acquireDataset({ source: url, dataDir, log: silentLogger }));
    expect(err.message).toBe(
      `cannot download the dataset from ${url} (connection refused); you appear to be offline — ` +
        'download dataset.csv yourself and set MUSIC_DATASET=/path/to/dataset.csv',
    );
  });

  it('rejects an HTML page served with 200, quoting the schema check, and keeps nothing', async () => {
    server = await startFixtureServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html>\n<html><body><a href="/login">Sign in</a></body></html>\n'),
    );
    const err = await failure(acquireDataset({ source: `${server.origin}/dataset.csv`, dataDir, log: silentLogger }));
    expect(err.message).toContain('unrecognised CSV header ("<!DOCTYPE html>")');
    expect(err.message).toContain('HTML');
    expect(filesInDatasets()).toEqual([]);
  });

  it('refuses a gzip download in one printable line that says to decompress it, and keeps nothing', async () => {
    const gz = gzipSync(SMALL_CSV);
    server = await startFixtureServer((_req, res) => res.writeHead(200, { 'content-length': gz.length }).end(gz));
    const err = await failure(acquireDataset({ source: `${server.origin}/files/dataset.csv.gz`, dataDir, log: silentLogger }));
    expect(err.message).toMatch(/^the file at .*dataset\.csv\.gz is not the expected dataset CSV \(nothing was kept\): dataset\.csv\.gz is gzip-compressed, not a CSV text file; decompress it first \(gunzip -k dataset\.csv\.gz\)/);
    expect(err.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd\n]/);
    expect(filesInDatasets()).toEqual([]);
  });

  it('downloads the real TidyTuesday file, logging start, ~10% steps and a summary', async () => {
    const bytes = readFileSync(DATASET_PATH);
    server = await startFixtureServer((_req, res) => {
      res.writeHead(200, { 'content-length': bytes.length });
      // Send in slices so progress crosses every 10% boundary on its own chunk.
      let offset = 0;
      const step = 256 * 1024;
      const next = () => {
        if (offset >= bytes.length) return void res.end();
        const slice = bytes.subarray(offset, offset + step);
        offset += step;
        if (res.write(slice)) setImmediate(next);
        else res.once('drain', next);
      };
      next();
    });
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const got = await acquireDataset({ source: `${server.origin}/spotify_songs.csv`, dataDir, log });
    expect(got).toMatchObject({ origin: 'downloaded', bytes: bytes.length, sha256: sha(bytes) });
    expect(got.schema.name).toBe(TIDYTUESDAY.name);
    expect(got.path).toBe(join(datasetsDir(), 'spotify_songs.csv'));

    expect(lines[0]).toMatchObject({ source: `${server.origin}/spotify_songs.csv`, destination: got.path });
    const percents = lines.map((l) => l.percent).filter((p): p is number => typeof p === 'number');
    expect(percents.length).toBeGreaterThanOrEqual(8);
    expect(percents.length).toBeLessThanOrEqual(10);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ bytes: bytes.length });
    expect(typeof last.seconds).toBe('number');
    expect(typeof last.mbPerSecond).toBe('number');
  });
});
