import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SnapshotError } from '../errors.js';
import { ArtistProfiles, artistIndexSteps, artistKeyIndex, prepareCatalog, type CatalogParts } from './catalog.js';
import type { CatalogColumns, StringLists } from './columns.js';
import type { NumberColumn } from './number-column.js';
import { TRACK_FEATURES, type ArtistProfile, type GenreProfile, type Snapshot, type SnapshotManifest, type TrackColumns } from './marts.js';
import { IdTable } from './id-table.js';
import { readFully, SegmentReader, segmentBytes, SegmentWriter, type ReadRange, type SegmentEntry, type StringColumn, unreadSegments } from './segments.js';
import { runNow, runSliced, type Steps } from './slices.js';
import { fold } from './text.js';
import { hasNameIndex, hasTitleIndex, readNameIndex, readTitleIndex, writeNameIndex, writeTitleIndex } from './name-index.js';
import { buildTitleIndex, titleIndexParts, type TitleSource } from './resolve.js';

export * from './marts.js';

/**
 * The serving snapshot, format 3 (docs/SNAPSHOT.md): the published marts with everything the server
 * would otherwise compute at load (columnar tracks, the learned metric's k-d tree) as binary segments
 * behind a small JSON manifest. Layout on disk:
 *   <snapshotDir>/<version>/manifest.json   format, counts, segment list, checksums, small objects
 *   <snapshotDir>/<version>/columns.bin     the segments (segments.ts), 8-byte aligned
 *   <snapshotDir>/<version>/<extra files>   listed with their checksums in manifest.files
 *   <snapshotDir>/CURRENT                   the version being served (replaced by rename: atomic)
 * A version directory is immutable once CURRENT can name it.
 */
export const SNAPSHOT_FORMAT = 3;
/**
 * The formats a server reads: 3, and 2, whose numeric track columns are all `f64` (format 3 holds a column
 * as `i32` decimal digits where that is exact: number-column.ts). A format 2 server refuses format 3.
 */
const READ_FORMATS: readonly number[] = [2, SNAPSHOT_FORMAT];
const READS = `this server reads formats ${READ_FORMATS.join(' and ')}`;

const CURRENT = 'CURRENT';
const MANIFEST = 'manifest.json';
const SEGMENTS = 'columns.bin';
/** The single file of a format 1 snapshot. */
const V1_FILE = 'catalog.json.gz';
const REPUBLISH = 'republish with `npm run publish-snapshot` (or `npm run pipeline`)';

/** An extra file of a snapshot version (a prebuilt index, say), listed in the manifest. */
export interface SnapshotFile { name: string; bytes: number; sha256: string }

/** manifest.json: the served manifest plus what a reader needs to map the rest. */
export interface StoredManifest extends SnapshotManifest {
  segments: {
    file: string; bytes: number; sha256: string; columns: SegmentEntry[];
    /** SHA-256 of each `size`-byte block of the file (the last one shorter): what a server checks (absent in snapshots written before). */
    blocks?: { size: number; sha256: string[] };
  };
  metric: { dims: number; scale: number };
  genres: GenreProfile[];
  /** Small JSON-able objects by name; a new kind of data adds a name here, not a format change. */
  objects: Record<string, unknown>;
  files: SnapshotFile[];
}

/** A string per row as ids into a table of the distinct strings (-1: null): rows that repeat a string share it. */
export interface StringIds { ids: Int32Array; table: readonly string[] }

/** What writeSnapshot takes: the marts, a manifest without version/format, and optional extras. */
export type SnapshotInput = (
  | Omit<Snapshot, 'manifest' | 'artists'>
  /** The tracks already columnar (publish builds them page by page), with each track's album_id. */
  | (Omit<Snapshot, 'manifest' | 'artists' | 'tracks'> & { columns: CatalogColumns; albumId: readonly (string | null)[] | StringIds })
) & {
  manifest: Omit<SnapshotManifest, 'version' | 'format'>;
  /** The artist_profiles mart: in memory, or as JSON text read a page at a time (`ArtistProfiles.ofJson`). */
  artists: readonly ArtistProfile[] | ArtistProfiles;
  /** Small JSON-able objects to carry (manifest `objects`). */
  objects?: Record<string, unknown>;
  /** Extra files to place in the version directory, by file name. */
  files?: Record<string, Uint8Array>;
};

const sha256 = (chunks: readonly Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

// ------------------------------------------------------------------------------------------- write

function writeLists(writer: SegmentWriter, name: string, lists: StringLists, table: boolean): void {
  writer.numbers(`${name}.start`, lists.start);
  writer.numbers(`${name}.ids`, lists.ids);
  if (table) writer.strings(`${name}.table`, lists.table);
}

/** The catalog's parts as segments. */
function encode(parts: CatalogParts, albumIds: readonly (string | null)[] | StringIds, sink?: (bytes: Uint8Array) => void, step: (name: string) => void = () => undefined): SegmentWriter {
  const writer = new SegmentWriter(sink);
  const columns = parts.columns;
  writer.strings('track_id', columns.trackId);
  writer.numbers('track_id.slots', columns.idSlots ?? runNow(IdTable.slots(columns.trackId)));
  writer.strings('track_name', columns.trackName);
  writer.strings('album_id', 'table' in albumIds ? Array.from(albumIds.ids, (id) => (id < 0 ? null : albumIds.table[id]!)) : albumIds);
  writer.numbers('album', columns.album);
  writer.strings('album_table', columns.albumTable);
  writer.numberColumn('release_year', columns.releaseYear);
  writer.numberColumn('popularity', columns.popularity);
  writer.numberColumn('duration_ms', columns.durationMs);
  writer.numberColumn('key', columns.key);
  writer.numberColumn('mode', columns.mode);
  writer.numberColumn('time_signature', columns.timeSignature);
  writer.numbers('explicit', columns.explicit);
  TRACK_FEATURES.forEach((f, j) => writer.numberColumn(`feature.${f}`, columns.features[j]!));
  writeLists(writer, 'artist_names', columns.artistNames, true);
  writeLists(writer, 'artist_keys', columns.artistKeys, true);
  writeLists(writer, 'genres', columns.genres, true);
  writeLists(writer, 'subgenres', columns.subgenres, false); // shares the genres table
  writer.numbers('song_index', columns.songIndex);
  writer.numbers('canonical_elsewhere.track', Int32Array.from(columns.canonicalElsewhere.keys()));
  writer.strings('canonical_elsewhere.id', [...columns.canonicalElsewhere.values()]);
  step('track segments encoded');
  const tree = parts.metric.tree;
  writer.numbers('metric.rows', tree.rows);
  writer.numbers('metric.order', tree.order);
  writer.numbers('metric.row_of', tree.rowOf);
  writer.numbers('metric.lo', tree.lo);
  writer.numbers('metric.hi', tree.hi);
  writer.numbers('metric.child', tree.child);
  writer.numbers('metric.box_min', tree.boxMin);
  writer.numbers('metric.box_max', tree.boxMax);
  if (tree.localScale) writer.numbers('metric.local_scale', tree.localScale);
  const artists = parts.artists;
  writer.strings('artist.key', artists.keys);
  writer.strings('artist.name', artists.names);
  writer.strings('artist.folded', artists.folded ?? Array.from({ length: artists.length }, (_, r) => fold(artists.names.at(r)!)));
  const keyIndex = parts.artistKeyIndex ?? artistKeyIndex(artists, columns.artistKeys);
  writer.numbers('artist.key.slots', keyIndex.slots);
  writer.numbers('artist.key_id', keyIndex.keyIds);
  const artistFolds = encodeArtistIndex(writer, parts);
  step('artist name index encoded');
  encodeTitleIndex(writer, { size: columns.size, title: (i: number) => columns.trackName.at(i) ?? null, artistFolds });
  step('title index encoded');
  writer.numbers('artist.popularity_max', artists.popularityMax);
  writer.numbers('artist.track_count', artists.trackCount);
  if (artists.json) writer.textColumn('artist.profile', artists.json);
  else writer.texts('artist.profile', artists.length, (i) => JSON.stringify(artists.get(i)));
  return writer;
}

/**
 * The artist name index built and written; returns its folded names in order (the title index's
 * suggestions of artists are over them). The index itself (an object per artist and maps over every
 * name: hundreds of MiB at 1M tracks) is garbage once this returns, before the title index is built.
 */
function encodeArtistIndex(writer: SegmentWriter, parts: CatalogParts): string[] {
  const index = runNow(parts.names?.() ?? artistIndexSteps(parts.artists));
  writeNameIndex(writer, index);
  return [...index.byFold.keys()];
}

/** The title index built and written (its arrays are garbage once this returns). */
function encodeTitleIndex(writer: SegmentWriter, titles: TitleSource): void {
  writeTitleIndex(writer, titleIndexParts(runNow(buildTitleIndex(titles))));
}

/** The catalog's segments written to `path` as they are encoded: their manifest entries, size and SHA-256. */
function encodeToFile(
  path: string, parts: CatalogParts, albumIds: readonly (string | null)[] | StringIds, step?: (name: string) => void,
): { entries: SegmentEntry[]; byteLength: number; sha256: string; blocks: string[] } {
  const hash = createHash('sha256');
  const blocks = new BlockHashes(CHECK_BLOCK);
  const fd = openSync(path, 'w');
  try {
    const writer = encode(parts, albumIds, (bytes) => {
      hash.update(bytes);
      blocks.update(bytes);
      for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    }, step);
    return { entries: writer.entries, byteLength: writer.byteLength, sha256: hash.digest('hex'), blocks: blocks.done() };
  } finally {
    closeSync(fd);
  }
}

/**
 * Bytes per checked block of `columns.bin`. A server checks the blocks it reads at load before serving,
 * and a block of the columns it leaves on disk (the artist profiles: 395 MiB at 1M tracks) when it first
 * reads a row there: hashing the whole file first held the first answer back (1.6 s of a worker at 1M
 * on a busy 2-core machine, against 0.9 s for the rest of the load).
 */
const CHECK_BLOCK = 4 << 20;

/** SHA-256 of each `size`-byte block of the bytes fed in order. */
class BlockHashes {
  private readonly hashes: string[] = [];
  private hash = createHash('sha256');
  private filled = 0;
  constructor(private readonly size: number) {}

  update(bytes: Uint8Array): void {
    for (let p = 0; p < bytes.byteLength;) {
      const take = Math.min(this.size - this.filled, bytes.byteLength - p);
      this.hash.update(bytes.subarray(p, p + take));
      this.filled += take;
      p += take;
      if (this.filled === this.size) {
        this.hashes.push(this.hash.digest('hex'));
        this.hash = createHash('sha256');
        this.filled = 0;
      }
    }
  }

  done(): string[] {
    if (this.filled) this.hashes.push(this.hash.digest('hex'));
    return this.hashes;
  }
}

/** Write a snapshot and make it current. Readers never see a half-written snapshot. Returns the version. */
export async function writeSnapshot(
  snapshotDir: string,
  data: SnapshotInput,
  keep = 3,
  /**
   * Writes further files into the version directory before it becomes visible (the search index, which
   * names the version it was built for); gets the served manifest and the prepared catalog parts.
   */
  beside?: (dir: string, manifest: SnapshotManifest, parts: CatalogParts) => Promise<void>,
  /** Told as each step is done (publish logs its memory there). */
  step: (name: string) => void = () => undefined,
): Promise<string> {
  const prepared = prepareCatalog({ ...data, manifest: { ...data.manifest, format: SNAPSHOT_FORMAT, version: '' } });
  // The artist key index the snapshot stores, computed once: `beside`'s catalog reads it instead of
  // building two maps over every artist key.
  const parts = { ...prepared, artistKeyIndex: prepared.artistKeyIndex ?? artistKeyIndex(prepared.artists, prepared.columns.artistKeys) };
  step('metric fitted');
  const extra = Object.entries(data.files ?? {});
  for (const [name] of extra) {
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || [MANIFEST, SEGMENTS, V1_FILE].includes(name)) throw new SnapshotError(`cannot add a file named ${JSON.stringify(name)} to a snapshot`);
  }
  // The segments go to a file as they are encoded (hashed on the way), so the encoded strings and
  // indexes are never all held at once (at 1M tracks they are hundreds of MB); the file moves into the
  // version directory once the version (named by their hash) is known.
  await mkdir(snapshotDir, { recursive: true }).catch((err: Error) => {
    throw new SnapshotError(`cannot write snapshot to ${snapshotDir}: ${err.message}`, { cause: err });
  });
  const partial = join(snapshotDir, `.tmp-${randomBytes(4).toString('hex')}-${SEGMENTS}`);
  let segments: ReturnType<typeof encodeToFile>;
  try {
    segments = encodeToFile(partial, parts, 'columns' in data ? data.albumId : data.tracks.album_id, step);
  } catch (err) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw new SnapshotError(`cannot write snapshot segments to ${partial}: ${(err as Error).message}; ${await stillCurrent(snapshotDir)}`, { cause: err });
  }
  step('segments encoded');
  const files = extra.map(([name, b]) => ({ name, bytes: b.byteLength, sha256: sha256([b]) }));
  const stored: StoredManifest = {
    ...data.manifest,
    format: SNAPSHOT_FORMAT,
    version: '',
    segments: { file: SEGMENTS, bytes: segments.byteLength, sha256: segments.sha256, columns: segments.entries, blocks: { size: CHECK_BLOCK, sha256: segments.blocks } },
    metric: { dims: parts.metric.tree.dims, scale: parts.metric.scale },
    genres: data.genres,
    objects: { ...(data.distribution ? { distribution: data.distribution } : {}), ...(data.objects ?? {}) },
    files,
  };
  const hash = createHash('sha256').update(JSON.stringify(stored)).digest('hex').slice(0, 10);
  const stamp = data.manifest.publishedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const version = `${stamp}-${hash}`;
  stored.version = version;

  const tmpDir = join(snapshotDir, `.tmp-${version}-${randomBytes(4).toString('hex')}`);
  const tmpPointer = join(snapshotDir, `.${CURRENT}-${randomBytes(4).toString('hex')}`);
  const versionDir = join(snapshotDir, version);
  let target = snapshotDir;
  let placed = false;
  try {
    target = tmpDir;
    await mkdir(tmpDir, { recursive: true });
    target = join(tmpDir, SEGMENTS);
    await rename(partial, target);
    for (const [name, bytes] of extra) {
      target = join(tmpDir, name);
      await writeFile(target, bytes);
    }
    target = join(tmpDir, MANIFEST);
    await writeFile(target, JSON.stringify(stored));
    if (beside) {
      target = tmpDir;
      const { segments: _s, metric: _m, genres: _g, objects, files: _f, ...manifest } = stored;
      await beside(tmpDir, manifest, { ...parts, manifest, objects });
    }
    target = versionDir;
    await rm(versionDir, { recursive: true, force: true });
    await rename(tmpDir, versionDir);
    placed = true;
    target = tmpPointer;
    await writeFile(tmpPointer, `${version}\n`);
    target = join(snapshotDir, CURRENT);
    await rename(tmpPointer, target);
  } catch (err) {
    // Leave the snapshot dir as it was: no temp leftovers, CURRENT still names the previous version.
    await rm(partial, { force: true }).catch(() => undefined);
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    await rm(tmpPointer, { force: true }).catch(() => undefined);
    if (placed && (await currentVersion(snapshotDir).catch(() => null)) !== version) {
      await rm(versionDir, { recursive: true, force: true }).catch(() => undefined);
    }
    throw new SnapshotError(`cannot write snapshot ${version} to ${target}: ${(err as Error).message}; ${await stillCurrent(snapshotDir)}`, { cause: err });
  }
  await prune(snapshotDir, version, keep);
  return version;
}

/** What a failed write leaves current, for its message. */
async function stillCurrent(snapshotDir: string): Promise<string> {
  const still = await currentVersion(snapshotDir).catch(() => null);
  return still ? `snapshot ${still} is still current` : 'nothing is published yet';
}

/** Remove old versions beyond `keep` (never the current one) and leftovers of interrupted writes. */
async function prune(snapshotDir: string, current: string, keep: number): Promise<void> {
  const entries = await readdir(snapshotDir, { withFileTypes: true });
  const versions = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort().reverse();
  const stale = versions.filter((v) => v !== current).slice(Math.max(0, keep - 1));
  for (const v of stale) await rm(join(snapshotDir, v), { recursive: true, force: true });
  const now = Date.now();
  for (const e of entries) {
    if (!e.name.startsWith('.')) continue;
    const st = await stat(join(snapshotDir, e.name)).catch(() => null);
    if (st && now - st.mtimeMs > 3_600_000) await rm(join(snapshotDir, e.name), { recursive: true, force: true });
  }
}

/** The version CURRENT points at, or null when nothing was ever published. */
export async function currentVersion(snapshotDir: string): Promise<string | null> {
  try {
    const v = (await readFile(join(snapshotDir, CURRENT), 'utf8')).trim();
    return v || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SnapshotError(`cannot read ${join(snapshotDir, CURRENT)}: ${(err as Error).message}`, { cause: err });
  }
}

// -------------------------------------------------------------------------------------------- read

/** A snapshot version's manifest and segment bytes, checked against each other. */
export interface OpenedSnapshot { dir: string; manifest: StoredManifest; segments: SegmentReader }

const exists = (path: string) => stat(path).then(() => true, () => false);

/**
 * Read a snapshot version's manifest and segments and check them (format, version, sizes, SHA-256 of
 * every file; the hashes run off the main thread). Throws SnapshotError naming the fix.
 */
export async function openSnapshot(snapshotDir: string, version?: string): Promise<OpenedSnapshot> {
  const { opened, verified } = await openUnverified(snapshotDir, version);
  await verified;
  return opened;
}

/**
 * A snapshot version's manifest and segment bytes, read and checked for format, version and sizes, with
 * the SHA-256 checks still running on the thread pool: `verified` settles when every file matched its
 * checksum (or rejects with the SnapshotError). A loader decodes meanwhile and serves nothing before
 * `verified` resolves (`whenVerified`).
 */
export async function openUnverified(snapshotDir: string, version?: string): Promise<{ opened: OpenedSnapshot; verified: Promise<void> }> {
  const v = version ?? (await currentVersion(snapshotDir));
  if (!v) throw new SnapshotError(`no published snapshot in ${snapshotDir}; run \`npm run pipeline\` to build one`);
  const dir = join(snapshotDir, v);
  const unreadable = (why: string, cause?: unknown) => new SnapshotError(`snapshot ${v} is unreadable (${why}); ${REPUBLISH}`, { cause });
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await exists(join(dir, V1_FILE)))) {
      throw new SnapshotError(`snapshot ${v} has format 1 (${V1_FILE}), ${READS}; ${REPUBLISH}`);
    }
    throw unreadable((err as Error).message, err);
  }
  let manifest: StoredManifest;
  try {
    manifest = JSON.parse(text) as StoredManifest;
  } catch (err) {
    throw unreadable(`${MANIFEST}: ${(err as Error).message}`, err);
  }
  if (!READ_FORMATS.includes(manifest?.format)) {
    throw new SnapshotError(`snapshot ${v} has format ${String(manifest?.format)}, ${READS}; ${REPUBLISH}`);
  }
  if (manifest.version !== v) {
    throw new SnapshotError(`snapshot directory ${v} holds a manifest for version ${JSON.stringify(manifest.version)} (copied or renamed by hand?); ${REPUBLISH}`);
  }
  /**
   * A file's bytes (`holes` left unread; `holes` absent: only its size is checked, its reader reads it
   * later), once its size is checked; its checksum is compared by the promise it comes with.
   */
  const read = async (
    name: string, bytes: number, sha: string, holes?: [number, number][], blocks?: BlockCheck,
  ): Promise<{ bytes: Uint8Array; file: FileHandle | null; check: Promise<void> }> => {
    let r: { bytes: Uint8Array; file: FileHandle | null };
    try {
      r = holes ? await readSized(join(dir, name), bytes, holes) : await checkSize(join(dir, name), bytes);
    } catch (err) {
      throw unreadable((err as Error).message, err);
    }
    const failed = (err: Error) => {
      throw unreadable(`${name}: ${err.message}`, err);
    };
    const check = blocks
      ? blockHashesOffThread(join(dir, name), blocks.size, blocks.atLoad).then((got) => {
        const bad = blocks.atLoad.findIndex((b, k) => got[k] !== blocks.sha256[b]);
        if (bad >= 0) throw unreadable(`${name} does not match its checksum (block ${blocks.atLoad[bad]})`);
      }, failed)
      : sha256OffThread(join(dir, name)).then((got) => {
        if (got !== sha) throw unreadable(`${name} does not match its checksum`);
      }, failed);
    return { ...r, check };
  };
  const s = manifest.segments;
  // The segments read one row at a time (artist profiles) and those a server never reads (album_id) stay on disk; the rest is read whole.
  const holes = unreadSegments(s.columns).map((e): [number, number] => [e.offset, e.offset + segmentBytes(e)]);
  const blocks = blockCheck(s, holes);
  const reads = await Promise.allSettled([read(s.file, s.bytes, s.sha256, holes, blocks), ...manifest.files.map((f) => read(f.name, f.bytes, f.sha256))]);
  const failed = reads.find((r) => r.status === 'rejected');
  const checks = reads.flatMap((r) => (r.status === 'fulfilled' ? [r.value.check] : []));
  const verified = Promise.all(checks).then(() => undefined);
  if (failed) {
    verified.catch(() => undefined);
    for (const r of reads) if (r.status === 'fulfilled') void r.value.file?.close().catch(() => undefined);
    throw (failed as PromiseRejectedResult).reason;
  }
  verified.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection meanwhile
  try {
    const { bytes, file } = (reads[0] as PromiseFulfilledResult<{ bytes: Uint8Array; file: FileHandle | null }>).value;
    const checked = blocks && file ? blockStates(blocks) : undefined;
    const segments = new SegmentReader(bytes, s.columns, file ? checkedRanges(rangeReader(file, join(dir, s.file)), blocks, checked, (why) => unreadable(`${s.file} ${why}`)) : undefined);
    // The blocks left on disk are checked by a worker once the load's are, so a first read there seldom hashes on the event loop.
    if (blocks && checked) {
      const rest = blocks.sha256.map((_, k) => k).filter((k) => checked[k] === UNCHECKED);
      void verified.then(() => blockHashesOffThread(join(dir, s.file), blocks.size, rest)).then(
        (got) => rest.forEach((k, i) => checked[k] === UNCHECKED && (checked[k] = got[i] === blocks.sha256[k] ? MATCHED : DIFFERS)),
        () => undefined, // a failed load or background read: each block is checked when first read instead
      );
    }
    if (file) keepOpenWhile(segments, file);
    return { opened: { dir, manifest, segments }, verified };
  } catch (err) {
    // A checksum failure explains a bad layout better than the layout error does.
    await verified;
    throw unreadable((err as Error).message, err);
  }
}

/**
 * The result of work done on an unverified snapshot, once `verified` resolves. When the work failed
 * and the checksum failed too, the checksum's error is the one thrown: it names the cause.
 */
export async function whenVerified<T>(verified: Promise<void>, work: Promise<T>): Promise<T> {
  let value: T;
  try {
    value = await work;
  } catch (err) {
    await verified;
    throw err;
  }
  await verified;
  return value;
}

/** Hashes a file in a worker thread: the event loop neither copies nor hashes its bytes. */
const HASH_WORKER = `
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const h = createHash('sha256');
createReadStream(workerData, { highWaterMark: 1 << 22 })
  .on('data', (c) => h.update(c))
  .on('end', () => parentPort.postMessage({ sha256: h.digest('hex') }))
  .on('error', (e) => parentPort.postMessage({ error: e.message }));
`;

/** Hashes chosen blocks of a file in a worker thread (blockHashesOffThread). */
const BLOCK_HASH_WORKER = `
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { path, size, blocks } = workerData;
let fd;
try {
  fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(size);
  const hashes = [];
  for (const k of blocks) {
    let got = 0;
    for (let n = 1; n > 0 && got < size; got += n) n = readSync(fd, buf, got, size - got, k * size + got);
    hashes.push(createHash('sha256').update(buf.subarray(0, got)).digest('hex'));
  }
  parentPort.postMessage({ hashes });
} catch (e) {
  parentPort.postMessage({ error: e.message });
} finally {
  if (fd !== undefined) closeSync(fd);
}
`;

/** SHA-256 of blocks `blocks` (each `size` bytes; the last one of the file may be shorter) of a file, in a worker thread. */
function blockHashesOffThread(path: string, size: number, blocks: readonly number[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(BLOCK_HASH_WORKER, { eval: true, workerData: { path, size, blocks }, execArgv: [] });
    w.once('message', (m: { hashes?: string[]; error?: string }) => (m.hashes ? resolve(m.hashes) : reject(new Error(m.error))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`checksum worker exited ${code}`)));
  });
}

/**
 * SHA-256 of a file's bytes, computed by a worker thread reading the file itself (from the page cache
 * right after the main read), so no step of it runs on the event loop: WebCrypto's digest copies its
 * input on the calling thread first (≈ 0.3 s for the 655 MiB of a 1M-track snapshot).
 */
function sha256OffThread(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // No inherited flags: the code is CommonJS even in a process started with --input-type=module.
    const w = new Worker(HASH_WORKER, { eval: true, workerData: path, execArgv: [] });
    w.once('message', (m: { sha256?: string; error?: string }) => (m.sha256 ? resolve(m.sha256) : reject(new Error(m.error))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`checksum worker exited ${code}`)));
  });
}

/** A segment file's block checksums, and the blocks checked at load (every block holding bytes read into memory). */
interface BlockCheck { size: number; sha256: string[]; atLoad: number[]; fileBytes: number }

/**
 * The blocks of a segment file to check at load: each one with any byte outside `holes` (the ranges left
 * on disk). Undefined for a manifest without block checksums (the whole file is checked, as before) or
 * whose block list does not fit the file (the whole-file checksum then decides).
 */
function blockCheck(s: StoredManifest['segments'], holes: readonly [number, number][]): BlockCheck | undefined {
  const b = s.blocks;
  if (!b || !Number.isSafeInteger(b.size) || b.size <= 0 || !Array.isArray(b.sha256) || b.sha256.length !== Math.ceil(s.bytes / b.size)) return undefined;
  const sorted = [...holes].sort((x, y) => x[0] - y[0]);
  const atLoad: number[] = [];
  for (let k = 0; k < b.sha256.length; k++) {
    // Walk the block's bytes past the holes that cover them; any byte left over is read at load.
    let at = k * b.size;
    const end = Math.min(s.bytes, at + b.size);
    for (const [from, to] of sorted) if (from <= at && to > at) at = to;
    if (at < end) atLoad.push(k);
  }
  return { size: b.size, sha256: b.sha256, atLoad, fileBytes: s.bytes };
}

const UNCHECKED = 0;
const MATCHED = 1;
const DIFFERS = 2;

/** Per block of a segment file, whether it was checked and matched (UNCHECKED, MATCHED, DIFFERS); the load's blocks matched. */
function blockStates(blocks: BlockCheck): Uint8Array {
  const state = new Uint8Array(blocks.sha256.length);
  for (const k of blocks.atLoad) state[k] = MATCHED;
  return state;
}

/**
 * A range reader that checks each block a read touches against its checksum when no check has yet
 * (reading and hashing the whole block: ~3 ms for 4 MiB), for the blocks not checked at load or by the
 * background worker yet. Throws `refuse(why)` on a mismatch, and for that block ever after.
 */
function checkedRanges(read: ReadRange, blocks: BlockCheck | undefined, state: Uint8Array | undefined, refuse: (why: string) => Error): ReadRange {
  if (!blocks || !state) return read;
  return (offset, length) => {
    const last = Math.floor((offset + Math.max(length, 1) - 1) / blocks.size);
    for (let k = Math.floor(offset / blocks.size); k <= last && k < state.length; k++) {
      if (state[k] === UNCHECKED) {
        const bytes = read(k * blocks.size, Math.min(blocks.size, blocks.fileBytes - k * blocks.size));
        state[k] = createHash('sha256').update(bytes).digest('hex') === blocks.sha256[k] ? MATCHED : DIFFERS;
      }
      if (state[k] === DIFFERS) throw refuse(`does not match its checksum (block ${k}, left on disk at load)`);
    }
    return read(offset, length);
  };
}

/** Bytes per read call: each returns to the event loop. */
const READ_CHUNK = 8 << 20;

/** Closes a file's descriptor once the object reading it is collected (a replaced catalog). */
const openFiles = new FinalizationRegistry<FileHandle>((h) => void h.close().catch(() => undefined));

/** Keep `file` open while `reader` is alive (it reads ranges of it when asked); closed once `reader` is collected. */
export function keepOpenWhile(reader: object, file: FileHandle): void {
  openFiles.register(reader, file);
}

/**
 * A file's bytes in one 8-byte aligned buffer, read on the thread pool in chunks that each return to
 * the event loop, except the byte ranges `holes` ([start, end) each), which are left unread: the
 * buffer's pages there are never touched, so they take no memory. Throws when the file does not hold
 * `expected` bytes. Returns the open file too when there are holes (to read them later), else closes it.
 */
export async function readSized(path: string, expected: number, holes: readonly [number, number][] = []): Promise<{ bytes: Uint8Array; file: FileHandle | null }> {
  const file = await open(path, 'r');
  try {
    const st = await file.stat();
    if (st.size !== expected) throw new Error(`${basename(path)} holds ${st.size} bytes, the manifest says ${expected}`);
    // Not from the pool: a buffer of its own, 8-byte aligned, whose untouched pages stay unmapped.
    const bytes = Buffer.allocUnsafeSlow(expected);
    const sorted = [...holes].sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [from, to] of [...sorted, [expected, expected] as [number, number]]) {
      for (let p = at; p < from; ) {
        const { bytesRead } = await file.read(bytes, p, Math.min(READ_CHUNK, from - p), p);
        if (bytesRead === 0) throw new Error(`${basename(path)} ended at byte ${p}, the manifest says ${expected}`);
        p += bytesRead;
      }
      at = Math.max(at, to);
    }
    if (!holes.length) await file.close();
    return { bytes, file: holes.length ? file : null };
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

/** A file whose size is checked now and whose bytes are read by its own reader (search.bin: search-index.ts). */
async function checkSize(path: string, expected: number): Promise<{ bytes: Uint8Array; file: null }> {
  const st = await stat(path);
  if (st.size !== expected) throw new Error(`${basename(path)} holds ${st.size} bytes, the manifest says ${expected}`);
  return { bytes: new Uint8Array(0), file: null };
}

/** Reads a byte range of an open file on the calling thread (a row of an on-disk segment: a few KiB from the page cache). */
export function rangeReader(file: FileHandle, path: string): ReadRange {
  const into = rangeReaderInto(file, path);
  return (offset, length) => {
    const out = Buffer.allocUnsafe(length);
    into(offset, out);
    return out;
  };
}

/** Fills `target` with the file's bytes from `offset` on, on the calling thread (a caller that reuses its buffer). */
export function rangeReaderInto(file: FileHandle, path: string): (offset: number, target: Uint8Array) => void {
  return (offset, target) => readFully(file.fd, target, offset, basename(path));
}

function* readLists(segments: SegmentReader, name: string, table?: StringLists['table']): Steps<StringLists> {
  return { start: segments.i32(`${name}.start`), ids: segments.i32(`${name}.ids`), table: table ?? ((yield* segments.stringColumn(`${name}.table`)) as StringColumn<string>) };
}

/** The catalog's parts from an opened snapshot, decoding strings in steps (slices.ts). */
export function* catalogParts(opened: OpenedSnapshot): Steps<CatalogParts> {
  const { manifest: published, segments } = opened;
  // The two per-track string columns stay one decoded text each, sliced per row when asked for.
  const trackId = (yield* segments.stringColumn('track_id')) as StringColumn<string>;
  if (trackId.hasNulls) throw new SnapshotError(`snapshot ${published.version} is unreadable (a track without an id); ${REPUBLISH}`);
  const trackCount = trackId.length;
  const genres = yield* readLists(segments, 'genres');
  const elsewhereAt = segments.i32('canonical_elsewhere.track');
  const elsewhereId = yield* segments.strings('canonical_elsewhere.id');
  const columns: CatalogColumns = {
    size: trackCount,
    trackId,
    ...(segments.has('track_id.slots') ? { idSlots: segments.i32('track_id.slots') } : {}),
    trackName: yield* segments.stringColumn('track_name'),
    album: segments.i32('album'),
    albumTable: (yield* segments.strings('album_table')) as string[],
    releaseYear: segments.numberColumn('release_year'),
    popularity: segments.numberColumn('popularity'),
    durationMs: segments.numberColumn('duration_ms'),
    key: segments.numberColumn('key'),
    mode: segments.numberColumn('mode'),
    timeSignature: segments.numberColumn('time_signature'),
    explicit: segments.i8('explicit'),
    features: TRACK_FEATURES.map((f) => segments.numberColumn(`feature.${f}`)),
    artistNames: yield* readLists(segments, 'artist_names'),
    artistKeys: yield* readLists(segments, 'artist_keys'),
    genres,
    subgenres: yield* readLists(segments, 'subgenres', genres.table),
    songIndex: segments.i32('song_index'),
    canonicalElsewhere: new Map(Array.from(elsewhereAt, (i, j) => [i, elsewhereId[j]!])),
  };
  const perTrack = [columns.trackName, columns.album, columns.releaseYear, columns.popularity, columns.durationMs, columns.key, columns.mode,
    columns.timeSignature, columns.explicit, ...columns.features, columns.songIndex];
  if (perTrack.some((c) => c.length !== trackCount) || [columns.artistNames, columns.artistKeys, genres, columns.subgenres].some((l) => l.start.length !== trackCount + 1)) {
    throw new SnapshotError(`snapshot ${published.version} is unreadable (track columns differ in length); ${REPUBLISH}`);
  }
  const profiles = segments.texts('artist.profile');
  const artists = new ArtistProfiles(
    (yield* segments.stringColumn('artist.key')) as StringColumn<string>,
    (yield* segments.stringColumn('artist.name')) as StringColumn<string>,
    segments.f64('artist.popularity_max'),
    segments.i32('artist.track_count'),
    (i) => JSON.parse(profiles.get(i)) as ArtistProfile,
    (yield* segments.stringColumn('artist.folded')) as StringColumn<string>,
  );
  // Read after the catalog is served, with the rest of name resolution (Catalog.nameSteps).
  const names = hasNameIndex(segments) ? () => readNameIndex(segments) : undefined;
  const titles = hasTitleIndex(segments) ? () => readTitleIndex(segments) : undefined;
  const { segments: _segmentTable, metric, genres: genreProfiles, objects, files, ...manifest } = published;
  return {
    manifest,
    columns,
    metric: {
      tree: {
        dims: metric.dims, rows: segments.f32('metric.rows'), order: segments.i32('metric.order'), rowOf: segments.i32('metric.row_of'),
        lo: segments.i32('metric.lo'), hi: segments.i32('metric.hi'), child: segments.i32('metric.child'), boxMin: segments.f32('metric.box_min'), boxMax: segments.f32('metric.box_max'),
        // Absent from snapshots published before local scaling: the plain metric.
        localScale: segments.has('metric.local_scale') ? segments.f32('metric.local_scale') : undefined,
      },
      scale: metric.scale,
    },
    artists,
    genres: genreProfiles,
    objects,
    files: Object.fromEntries(files.map((f) => [f.name, join(opened.dir, f.name)])),
    ...(names ? { names } : {}),
    ...(titles ? { titles } : {}),
    ...(segments.has('artist.key.slots') && segments.has('artist.key_id') ? { artistKeyIndex: { slots: segments.i32('artist.key.slots'), keyIds: segments.i32('artist.key_id') } } : {}),
  };
}

/**
 * Read one snapshot version (default: the current one) back into the marts' in-memory form (track
 * columns as arrays, every artist profile parsed): for scripts, tests and benchmarks. The server maps
 * the snapshot instead (openSnapshot + catalogParts + Catalog.load).
 */
export async function readSnapshot(snapshotDir: string, version?: string): Promise<Snapshot> {
  const opened = await openSnapshot(snapshotDir, version);
  const { parts, albumId } = decoding(opened, () => ({ parts: runNow(catalogParts(opened)), albumId: runNow(opened.segments.strings('album_id')) }));
  const distribution = parts.objects['distribution'] as Snapshot['distribution'];
  return {
    manifest: parts.manifest, tracks: trackColumns(parts.columns, albumId), artists: [...parts.artists.all()], genres: parts.genres,
    ...(distribution ? { distribution } : {}),
  };
}

/** An opened snapshot's catalog parts, strings decoded in slices of at most about `budgetMs` of the event loop. */
export function decodeCatalogParts(opened: OpenedSnapshot, budgetMs?: number): Promise<CatalogParts> {
  return decoding(opened, () => runSliced(catalogParts(opened), budgetMs));
}

/** Run a decode of an opened snapshot; a failure is a SnapshotError naming the version and the fix. */
function decoding<T>(opened: OpenedSnapshot, run: () => T): T {
  const fail = (err: unknown): never => {
    if (err instanceof SnapshotError) throw err;
    throw new SnapshotError(`snapshot ${opened.manifest.version} is unreadable (${(err as Error).message}); ${REPUBLISH}`, { cause: err });
  };
  try {
    const r = run();
    return (r instanceof Promise ? r.catch(fail) : r) as T;
  } catch (err) {
    return fail(err);
  }
}

function listRows(lists: StringLists, rowCount: number): string[][] {
  return Array.from({ length: rowCount }, (_, i) => Array.from(lists.ids.subarray(lists.start[i]!, lists.start[i + 1]!), (id) => lists.table.at(id)!));
}

/** Columnar tracks back to dim_tracks' column arrays. */
function trackColumns(columns: CatalogColumns, albumId: (string | null)[]): TrackColumns {
  const trackCount = columns.size;
  const nullable = (a: NumberColumn) => Array.from(a.toFloats(), (v) => (Number.isNaN(v) ? null : v));
  const all = (a: NumberColumn) => Array.from(a.toFloats());
  return {
    track_id: Array.from({ length: trackCount }, (_, i) => columns.trackId.at(i)!),
    track_name: Array.from({ length: trackCount }, (_, i) => columns.trackName.at(i) ?? null),
    album_id: albumId,
    album_name: Array.from(columns.album, (a) => (a < 0 ? null : columns.albumTable[a]!)),
    release_year: nullable(columns.releaseYear),
    artist_names: listRows(columns.artistNames, trackCount),
    artist_keys: listRows(columns.artistKeys, trackCount),
    popularity: all(columns.popularity),
    duration_ms: all(columns.durationMs),
    explicit: Array.from(columns.explicit, (e) => (e < 0 ? null : e === 1)),
    key: all(columns.key),
    mode: all(columns.mode),
    time_signature: nullable(columns.timeSignature),
    genres: listRows(columns.genres, trackCount),
    subgenres: listRows(columns.subgenres, trackCount),
    canonical_track_id: Array.from({ length: trackCount }, (_, i) => columns.canonicalElsewhere.get(i) ?? columns.trackId.at(columns.songIndex[i]!)!),
    features: Object.fromEntries(TRACK_FEATURES.map((f, j) => [f, all(columns.features[j]!)])) as TrackColumns['features'],
  };
}

/**
 * What tells one published snapshot from another without reading it: the version name plus the inode,
 * size and mtime of its directory and files. A snapshot rewritten in place gets a new identity.
 */
export async function snapshotIdentity(snapshotDir: string, version: string): Promise<string> {
  const dir = join(snapshotDir, version);
  const [dirStat, manifestStat, segmentsStat] = await Promise.all([dir, join(dir, MANIFEST), join(dir, SEGMENTS)].map((p) => stat(p).catch(() => null)));
  const part = (fileStat: Awaited<ReturnType<typeof stat>> | null) => (fileStat ? `${fileStat.ino}:${fileStat.size}:${fileStat.mtimeMs}` : 'missing');
  return `${version}@${part(dirStat!)}/${part(manifestStat!)}/${part(segmentsStat!)}`;
}
