import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { DEFAULT_DATASET_URL } from '../config.js';
import { DatasetError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { detectSchema, type CsvSchema } from './csv-schemas.js';
import { sniffBinary, SNIFF_BYTES } from './input-encoding.js';

export { DEFAULT_DATASET_URL };

export interface AcquiredDataset {
  /** Absolute path of the CSV to ingest. */
  path: string;
  origin: 'local' | 'downloaded' | 'cached';
  bytes: number;
  sha256: string;
  schema: CsvSchema;
  /** The header cells as parsed (BOM removed). */
  header: string[];
  /** Where it came from: the absolute local path, or the URL without credentials. */
  source: string;
}

export interface AcquireOptions {
  /** `MUSIC_DATASET`: a local path, a file:// URL or an http(s) URL. */
  source: string;
  /** Downloads go to `<dataDir>/datasets/`. */
  dataDir: string;
  log?: Logger;
  /** Give up when the response sends no data for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Give up when the TCP/TLS connection is not up within this long (default 10 s). */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  /** Download again even when a cached copy exists. */
  refresh?: boolean;
}

/** What `<name>.json` beside a downloaded dataset records. */
export interface DatasetSidecar {
  source: string;
  bytes: number;
  sha256: string;
  etag: string | null;
  lastModified: string | null;
  downloadedAt: string;
}

const MAX_REDIRECTS = 5;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The header must be within the first MiB; anything else is not a CSV we understand. */
const HEADER_SCAN_BYTES = 1024 * 1024;
/** Leftover part files (from a killed run) older than this are removed. */
const STALE_PART_MS = 60 * 60 * 1000;
const NO_LENGTH_PROGRESS_MS = 5_000;

const FIX_HINT = 'download dataset.csv yourself and set MUSIC_DATASET=/path/to/dataset.csv';
const OFFLINE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'ETIMEDOUT', 'ENETUNREACH',
  'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'ECONNRESET', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);
const WRITE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'ENFILE']);

/**
 * Pipeline step 1: make the CSV dataset available locally and check it is a layout we ingest.
 * A local path is used in place; a URL is downloaded once into `<dataDir>/datasets/` (atomically,
 * with a JSON sidecar) and reused from there on later runs.
 */
export async function acquireDataset(opts: AcquireOptions): Promise<AcquiredDataset> {
  const log = opts.log ?? silentLogger;
  const source = opts.source.trim();
  if (/^https?:\/\//i.test(source)) return acquireUrl(source, opts, log);
  if (/^file:/i.test(source)) {
    let path: string;
    try {
      path = fileURLToPath(source);
    } catch {
      throw new DatasetError(`MUSIC_DATASET=${source} is not a valid file:// URL; set MUSIC_DATASET to a local path or an http(s) URL`);
    }
    return acquireLocal(path, log);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new DatasetError(
      `MUSIC_DATASET=${displayUrlish(source)} uses an unsupported scheme; set it to a local path or an http(s) URL`,
    );
  }
  return acquireLocal(source, log);
}

// ---------------------------------------------------------------- local

async function acquireLocal(given: string, log: Logger): Promise<AcquiredDataset> {
  const path = resolve(given);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) {
      throw new DatasetError(`MUSIC_DATASET points to ${path}, which is not a file; set MUSIC_DATASET to the path of the CSV (dataset.csv)`);
    }
    size = st.size;
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DatasetError(
        `MUSIC_DATASET points to ${path}, which does not exist; set MUSIC_DATASET to the path of dataset.csv ` +
          `or unset it to download ${DEFAULT_DATASET_URL}`,
      );
    }
    throw new DatasetError(`cannot read MUSIC_DATASET file ${path} (${code ?? 'unknown error'})`, { cause: err });
  }
  log.info({ source: path, bytes: size }, 'dataset: using local file');
  const { header, schema } = await validateCsv(path, basename(path), (m) => `MUSIC_DATASET file ${path} is not a dataset this server understands: ${m}`);
  const sha256 = await sha256File(path).catch((err: unknown) => {
    throw new DatasetError(`cannot read MUSIC_DATASET file ${path} (${errorCode(err) ?? 'read error'})`, { cause: err });
  });
  return { path, origin: 'local', bytes: size, sha256, schema, header, source: path };
}

// ---------------------------------------------------------------- URL

async function acquireUrl(raw: string, opts: AcquireOptions, log: Logger): Promise<AcquiredDataset> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DatasetError(`MUSIC_DATASET=${displayUrlish(raw)} is not a valid URL; set it to a local path or an http(s) URL`);
  }
  const shown = displayUrl(url);
  const dir = join(resolve(opts.dataDir), 'datasets');
  const name = datasetFileName(url);
  const finalPath = join(dir, name);
  const sidecarPath = `${finalPath}.json`;

  if (!opts.refresh) {
    const cached = await useCached(finalPath, sidecarPath, shown, log);
    if (cached) return cached;
  }
  if (opts.signal?.aborted) throw new DatasetError(`download of the dataset from ${shown} was cancelled`, { cause: opts.signal.reason });

  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new DatasetError(`cannot create ${dir} for the dataset download (${errorCode(err) ?? 'error'}); check MUSIC_DATA_DIR`, { cause: err });
  }
  await removeStaleParts(dir, name, log);

  const partPath = join(dir, `${name}.part-${randomBytes(6).toString('hex')}`);
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const agent = new Agent({
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    headersTimeout: idleMs,
    bodyTimeout: idleMs,
  });
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  let renamed = false;
  try {
    log.info({ source: shown, destination: finalPath }, 'dataset: downloading');
    const got = await download(url, shown, partPath, dispatcher, idleMs, opts.signal, log);
    const { header, schema } = await validateCsv(
      partPath,
      name,
      (m) => `the file at ${shown} is not the expected dataset CSV (nothing was kept): ${m}; ${FIX_HINT}`,
    );
    // Replace atomically: drop the old sidecar first so a crash can never pair it with the new file.
    await rm(sidecarPath, { force: true });
    await rename(partPath, finalPath);
    renamed = true;
    const sidecar: DatasetSidecar = {
      source: shown,
      bytes: got.bytes,
      sha256: got.sha256,
      etag: got.etag,
      lastModified: got.lastModified,
      downloadedAt: new Date().toISOString(),
    };
    const sidecarTmp = `${sidecarPath}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(sidecarTmp, `${JSON.stringify(sidecar, null, 2)}\n`);
    await rename(sidecarTmp, sidecarPath);
    return { path: finalPath, origin: 'downloaded', bytes: got.bytes, sha256: got.sha256, schema, header, source: shown };
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    const code = errorCode(err);
    throw new DatasetError(`cannot store the dataset downloaded from ${shown} under ${dir} (${code ?? 'error'}); check MUSIC_DATA_DIR`, { cause: err });
  } finally {
    if (!renamed) await rm(partPath, { force: true }).catch(() => undefined);
    await agent.close().catch(() => undefined);
  }
}

interface Downloaded { bytes: number; sha256: string; etag: string | null; lastModified: string | null }

async function download(
  url: URL, shown: string, partPath: string, dispatcher: Dispatcher, idleMs: number,
  signal: AbortSignal | undefined, log: Logger,
): Promise<Downloaded> {
  const cancelled = (cause: unknown) => new DatasetError(`download of the dataset from ${shown} was cancelled`, { cause });

  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'GET',
      dispatcher,
      signal,
      headers: { accept: 'text/csv, */*;q=0.5', 'accept-encoding': 'identity', 'user-agent': 'music-mcp-server' },
    });
  } catch (err) {
    if (signal?.aborted) throw cancelled(signal.reason);
    throw connectionError(shown, url, err, idleMs);
  }

  const { statusCode, headers, body } = res;
  if (statusCode < 200 || statusCode >= 300) {
    body.dump().catch(() => undefined);
    throw refusedStatus(statusCode, shown);
  }

  const expected = parseLength(headers['content-length']);
  const started = Date.now();
  const meter = new DownloadMeter(expected, log);
  try {
    await pipeline(body, meter.stream, createWriteStream(partPath, { flags: 'wx' }), signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw cancelled(signal.reason);
    throw interruptedDownload(err, { shown, partPath, idleMs, bytes: meter.bytes, expected });
  }

  const { bytes } = meter;
  if (expected !== null && bytes !== expected) {
    throw new DatasetError(
      `the download from ${shown} is truncated: received ${bytes} of ${expected} bytes; try again, or ${FIX_HINT}`,
    );
  }
  const seconds = (Date.now() - started) / 1000;
  log.info(
    { bytes, seconds: round(seconds, 2), mbPerSecond: round(bytes / 1e6 / Math.max(seconds, 0.001), 2) },
    `dataset: downloaded ${formatMb(bytes)}`,
  );
  return { bytes, sha256: meter.sha256(), etag: headerValue(headers.etag), lastModified: headerValue(headers['last-modified']) };
}

/** The refusal of a non-2xx answer (a 3xx here is one past the redirect limit). */
function refusedStatus(statusCode: number, shown: string): DatasetError {
  if (statusCode >= 300 && statusCode < 400) {
    return new DatasetError(
      `downloading the dataset from ${shown} failed: HTTP ${statusCode} after ${MAX_REDIRECTS} redirects (too many redirects); ` +
        `${FIX_HINT}, or set MUSIC_DATASET to the final URL`,
    );
  }
  return new DatasetError(
    `downloading the dataset from ${shown} failed: HTTP ${statusCode}${statusText(statusCode)}; ` +
      `check the URL, or ${FIX_HINT}`,
  );
}

/** Why a started download stopped: a stall, a write failure, or a lost connection. */
function interruptedDownload(
  err: unknown,
  at: { shown: string; partPath: string; idleMs: number; bytes: number; expected: number | null },
): DatasetError {
  const { shown, partPath, idleMs, bytes, expected } = at;
  const code = errorCode(err);
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new DatasetError(
      `the download from ${shown} stalled: no data for ${formatSeconds(idleMs)} after ${bytes} bytes; ` +
        `try again later, or ${FIX_HINT}`,
      { cause: err },
    );
  }
  if (code && WRITE_CODES.has(code)) {
    return new DatasetError(`cannot write the dataset to ${partPath} (${code}); check free space and MUSIC_DATA_DIR`, { cause: err });
  }
  const got = expected !== null ? `${bytes} of ${expected} bytes` : `${bytes} bytes`;
  return new DatasetError(
    `cannot download the dataset from ${shown} (truncated: connection lost after ${got}); try again, or ${FIX_HINT}`,
    { cause: err },
  );
}

/**
 * Counts and hashes the bytes passing through, logging progress every 10% of a known length, or
 * every NO_LENGTH_PROGRESS_MS when the length is unknown.
 */
class DownloadMeter {
  bytes = 0;
  readonly stream: Transform;
  private readonly hash = createHash('sha256');
  private nextPercent = 10;
  private lastLog = Date.now();

  constructor(
    private readonly expected: number | null,
    private readonly log: Logger,
  ) {
    this.stream = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.count(chunk);
        done(null, chunk);
      },
    });
  }

  sha256(): string {
    return this.hash.digest('hex');
  }

  private count(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const { bytes, expected } = this;
    const now = Date.now();
    if (expected !== null && expected > 0) {
      const percent = Math.floor((bytes / expected) * 100);
      if (percent >= this.nextPercent && bytes < expected) {
        this.log.info({ bytes, total: expected, percent }, `dataset: ${percent}% downloaded`);
        this.nextPercent = Math.floor(percent / 10) * 10 + 10;
      }
    } else if (now - this.lastLog >= NO_LENGTH_PROGRESS_MS) {
      this.lastLog = now;
      this.log.info({ bytes }, `dataset: ${formatMb(bytes)} downloaded`);
    }
  }
}

async function useCached(finalPath: string, sidecarPath: string, shown: string, log: Logger): Promise<AcquiredDataset | null> {
  let sidecar: Partial<DatasetSidecar>;
  try {
    sidecar = JSON.parse(await readFile(sidecarPath, 'utf8')) as Partial<DatasetSidecar>;
  } catch {
    return null;
  }
  if (sidecar.source !== shown) return null;
  try {
    const st = await stat(finalPath);
    if (!st.isFile() || st.size !== sidecar.bytes) {
      log.warn({ path: finalPath }, 'dataset: cached copy does not match its sidecar; downloading again');
      return null;
    }
    const sha256 = await sha256File(finalPath);
    if (sha256 !== sidecar.sha256) {
      log.warn({ path: finalPath }, 'dataset: cached copy does not match its recorded sha256; downloading again');
      return null;
    }
    const { header, schema } = await validateCsv(finalPath, basename(finalPath), (m) => m);
    log.info({ source: shown, path: finalPath, bytes: st.size, downloadedAt: sidecar.downloadedAt }, 'dataset: using cached download');
    return { path: finalPath, origin: 'cached', bytes: st.size, sha256, schema, header, source: shown };
  } catch {
    return null;
  }
}

/** Part files of this dataset left by a killed run (anything recent may belong to a concurrent run). */
async function removeStaleParts(dir: string, name: string, log: Logger): Promise<void> {
  const prefix = `${name}.part-`;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const p = join(dir, entry);
    try {
      if (Date.now() - (await stat(p)).mtimeMs > STALE_PART_MS) {
        await rm(p, { force: true });
        log.info({ path: p }, 'dataset: removed a stale partial download');
      }
    } catch {
      // gone already, or not ours to remove
    }
  }
}

// ---------------------------------------------------------------- CSV header

/** `name` is how messages call the file (a download is checked under a temporary name). */
async function validateCsv(
  path: string,
  name: string,
  describe: (message: string) => string,
): Promise<{ header: string[]; schema: CsvSchema }> {
  let header: string[];
  try {
    // Binary input (an archive, NULs) is refused before any of it is parsed or echoed.
    sniffBinary(await readHead(path), name);
    header = await readHeader(path);
  } catch (err) {
    if (err instanceof DatasetError) throw new DatasetError(describe(err.message));
    const code = errorCode(err);
    if (code?.startsWith('CSV_')) {
      throw new DatasetError(describe(`not a readable CSV (${code})`));
    }
    throw new DatasetError(describe(`cannot read it (${code ?? 'read error'})`), { cause: err });
  }
  const detected = detectSchema(header);
  if (!detected.ok) {
    const looksHtml = /^\s*<(!doctype|html|head|body|\?xml)/i.test(header[0] ?? '');
    throw new DatasetError(describe(`${looksHtml ? 'it looks like an HTML/XML page, not a CSV; ' : ''}${detected.message}`));
  }
  return { header, schema: detected.schema };
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The first CSV record of the file (a proper parse: quoted cells, BOM, CRLF). */
async function readHeader(path: string): Promise<string[]> {
  const input = createReadStream(path, { end: HEADER_SCAN_BYTES - 1 });
  const parser = parse({ bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true, to: 1 });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      return record;
    }
  } finally {
    input.destroy();
    parser.destroy();
  }
  throw new DatasetError('the file is empty');
}

// ---------------------------------------------------------------- helpers

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `<name>` for `<dataDir>/datasets/<name>`: the URL's last path segment, made safe. */
function datasetFileName(url: URL): string {
  const last = url.pathname.split('/').pop() ?? '';
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    // keep the raw segment
  }
  const safe = basename(decoded)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 120);
  return /[A-Za-z0-9]/.test(safe) ? safe : 'dataset.csv';
}

/** The URL as shown in logs, messages and the sidecar: no credentials. */
function displayUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function displayUrlish(s: string): string {
  return s.replace(/\/\/[^/@]*@/, '//');
}

function connectionError(shown: string, url: URL, err: unknown, idleMs: number): DatasetError {
  const code = errorCode(err);
  const reason = (() => {
    switch (code) {
      case 'ECONNREFUSED': return 'connection refused';
      case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_FAIL': return `cannot resolve host ${url.hostname}`;
      case 'ETIMEDOUT': case 'UND_ERR_CONNECT_TIMEOUT': return 'connection timed out';
      case 'UND_ERR_HEADERS_TIMEOUT': return `no response within ${formatSeconds(idleMs)}`;
      case 'ENETUNREACH': case 'EHOSTUNREACH': case 'ENETDOWN': case 'EHOSTDOWN': return 'network unreachable';
      case 'ECONNRESET': case 'EPIPE': case 'UND_ERR_SOCKET': case 'UND_ERR_CLOSED': return 'connection closed by the server';
      default: return code ?? 'network error';
    }
  })();
  if (code && OFFLINE_CODES.has(code)) {
    return new DatasetError(`cannot download the dataset from ${shown} (${reason}); you appear to be offline — ${FIX_HINT}`, { cause: err, temporary: true });
  }
  return new DatasetError(`cannot download the dataset from ${shown} (${reason}); ${FIX_HINT}`, { cause: err, temporary: true });
}

/** The most specific error code on an error, its cause, or the attempts of an AggregateError. */
function errorCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  const fromCause = errorCode(e.cause, depth + 1);
  if (fromCause) return fromCause;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = errorCode(inner, depth + 1);
      if (c) return c;
    }
  }
  return typeof e.code === 'string' ? e.code : undefined;
}

function parseLength(v: string | string[] | undefined): number | null {
  const s = headerValue(v);
  if (s === null || !/^\d+$/.test(s)) return null;
  return Number(s);
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone',
    429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  const t = texts[status];
  return t ? ` ${t}` : '';
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
const formatMb = (bytes: number): string => `${round(bytes / 1e6, 1)} MB`;
const formatSeconds = (ms: number): string => `${round(ms / 1000, 1)} s`;
