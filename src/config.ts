import { existsSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { LOG_FORMATS, type LogFormat } from './log.js';

/** Where the seed dataset is published (Kaggle "Spotify Tracks Dataset", BSD per its card). */
export const DEFAULT_DATASET_URL =
  'https://huggingface.co/datasets/maharshipandya/spotify-tracks-dataset/resolve/main/dataset.csv';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intFromEnv = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? fallback);

/** A postgres:// or postgresql:// URL naming a host (or a socket via ?host=) and a database. */
function isPostgresUrl(v: string): boolean {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return false;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return false;
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return (url.hostname !== '' || url.searchParams.has('host')) && database !== '' && !database.includes('/');
}

/** Free text where an empty value means "unset" (orchestrators often pass empty variables). */
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

const httpBaseUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL')
  .optional();

const EnvSchema = z.object({
  // Empty = unset: a desktop client's install dialog passes an empty value for a field left blank.
  MUSIC_DATA_DIR: optionalText,
  MUSIC_DATASET: optionalText,
  MUSIC_DUCKDB_PATH: z.string().trim().min(1).optional(),
  MUSIC_SNAPSHOT_POLL_MS: intFromEnv(100, 3_600_000, 2_000),
  MUSIC_TOOL_WAIT_MS: intFromEnv(0, 600_000, 20_000),
  MCP_HTTP_HOST: z.string().trim().min(1).optional(),
  MCP_HTTP_PORT: intFromEnv(0, 65_535, 3333),
  MCP_AUTH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MCP_ALLOWED_ORIGINS: z.string().optional(),
  MCP_ALLOWED_HOSTS: z.string().optional(),
  MCP_MAX_BODY_BYTES: intFromEnv(1_024, 64 * 1024 * 1024, 1024 * 1024),
  MCP_REQUEST_TIMEOUT_MS: intFromEnv(100, 600_000, 30_000),
  MCP_HEADERS_TIMEOUT_MS: intFromEnv(500, 120_000, 5_000),
  MCP_KEEPALIVE_TIMEOUT_MS: intFromEnv(100, 120_000, 5_000),
  MCP_MAX_CONNECTIONS: intFromEnv(4, 1_000_000, 512),
  MCP_MAX_BATCH: intFromEnv(1, 10_000, 100),
  MCP_HTTP_WORKERS: z
    .string()
    .trim()
    .regex(/^(auto|\d+)$/, "must be a whole number of processes (1–64) or 'auto' (one per CPU)")
    .refine((v) => v === 'auto' || (Number(v) >= 1 && Number(v) <= 64), 'must be between 1 and 64')
    .optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional().transform((v) => v ?? 'info'),
  LOG_FORMAT: z.enum(LOG_FORMATS).optional().transform((v) => v ?? 'auto'),
  XDG_DATA_HOME: z.string().optional(),
  // Warehouse: the embedded DuckDB file (default) or Snowflake. Secrets never appear in a message.
  WAREHOUSE: z.enum(['duckdb', 'snowflake']).optional().transform((v) => v ?? 'duckdb'),
  SNOWFLAKE_ACCOUNT: z.string().trim().regex(/^[A-Za-z0-9_.-]+$/, 'must be an account identifier such as myorg-myaccount').optional(),
  SNOWFLAKE_USER: z.string().trim().min(1).optional(),
  SNOWFLAKE_PASSWORD: z.string().min(1).optional(),
  SNOWFLAKE_PRIVATE_KEY: z.string().trim().regex(/^-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'must be a PEM private key (-----BEGIN PRIVATE KEY-----…)').optional(),
  SNOWFLAKE_PRIVATE_KEY_PATH: z.string().trim().min(1).optional(),
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: z.string().min(1).optional(),
  SNOWFLAKE_WAREHOUSE: z.string().trim().min(1).optional(),
  SNOWFLAKE_DATABASE: z.string().trim().min(1).optional(),
  SNOWFLAKE_SCHEMA: z.string().trim().min(1).optional(),
  SNOWFLAKE_ROLE: z.string().trim().min(1).optional(),
  SNOWFLAKE_ACCESS_URL: z.string().trim().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be a base URL such as https://myorg-myaccount.snowflakecomputing.com').optional(),
  // The URL's value (it may hold a password) never appears in a message.
  STAGING_URL: z
    .string()
    .trim()
    .refine(isPostgresUrl, 'must be a postgres:// URL (postgres://user:password@host:5432/database)')
    .optional(),
  MUSIC_FRESHNESS_MAX_AGE_HOURS: intFromEnv(1, 24 * 366, 48),
  // Ingest may delete more than half of a source file's staged rows (a deliberately smaller file).
  MUSIC_ALLOW_SHRINK: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['', '0', '1', 'true', 'false'].includes(v), 'must be 1 (allow an ingest to delete more than half of a source\'s rows) or 0')
    .optional()
    .transform((v) => v === '1' || v === 'true'),
  // Transform engine: the embedded runner, `dbt` on PATH (core), or the path of a dbt executable.
  MUSIC_DBT: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : 'embedded'))
    .refine((v) => v === 'embedded' || v === 'core' || v.includes('/'), "must be 'embedded', 'core' (dbt on PATH) or the path of a dbt executable (containing a /)"),
  MUSIC_RUN_ID: z
    .string()
    .trim()
    .regex(/^[\w.:+-]{1,200}$/, 'must be 1–200 characters of letters, digits and _ . : + -')
    .optional(),
  // Spotify Web API (enrichment + live artist_metadata). Both credentials or neither; empty = unset.
  SPOTIFY_CLIENT_ID: optionalText,
  SPOTIFY_CLIENT_SECRET: optionalText,
  SPOTIFY_MAX_RPS: intFromEnv(1, 1_000, 20),
  SPOTIFY_CONCURRENCY: intFromEnv(1, 100, 10),
  SPOTIFY_TIMEOUT_MS: intFromEnv(100, 120_000, 10_000),
  SPOTIFY_MAX_RETRIES: intFromEnv(0, 20, 4),
  SPOTIFY_PAGE_SIZE: intFromEnv(1, 50, 10),
  SPOTIFY_MARKET: z
    .string()
    .trim()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as US')
    .optional()
    .transform((v) => v ?? 'US'),
  SPOTIFY_ENRICH_TTL_DAYS: intFromEnv(0, 3_650, 7),
  SPOTIFY_CIRCUIT_BREAKER_FAILURES: intFromEnv(1, 10_000, 10),
  SPOTIFY_API_BASE_URL: httpBaseUrl,
  SPOTIFY_ACCOUNTS_URL: httpBaseUrl,
});

/** Every environment variable the server reads (the keys of the schema above). */
export const ENV_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

export interface Config {
  /** Everything the product writes: downloaded dataset, embedded DuckDB file, serving snapshots. */
  dataDir: string;
  /** Local path or http(s) URL of the tracks CSV. */
  dataset: string;
  /** The embedded DuckDB file (staging + warehouse). */
  duckdbPath: string;
  /** Published serving snapshots live here. */
  snapshotDir: string;
  /** How often the server checks for a newer published snapshot. */
  snapshotPollMs: number;
  /** How long a tool call waits for a catalog that is still being built before answering with progress. */
  toolWaitMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `text`: progress lines for a person; `json`: pino records; `auto`: text when stderr is a terminal. */
  logFormat: LogFormat;
  http: HttpConfig;
  /** Where the raw schema, the dbt marts and the publish step's reads live (`WAREHOUSE`). */
  warehouse: 'duckdb' | 'snowflake';
  /** Set when `warehouse` is 'snowflake'. Holds secrets: never log it whole. */
  snowflake: SnowflakeConfig | undefined;
  /** PostgreSQL staging (`STAGING_URL`); unset = the embedded DuckDB file stages too. Holds a password: log `redactUrl(...)` only. */
  stagingUrl: string | undefined;
  /** `scripts/freshness.ts` fails when the newest `raw.tracks.loaded_at` is older than this. */
  freshnessMaxAgeHours: number;
  /** Who builds the dbt project in the transform step (`MUSIC_DBT`): the embedded runner, or a dbt-core executable. */
  dbt: { engine: 'embedded' } | { engine: 'core'; executable: string };
  /** Run id shared by every step of one orchestrated run (Airflow passes its `run_id`); unset = one id per process. */
  runId: string | undefined;
  /** Ingest may delete more than half of the rows staged from a source file (`MUSIC_ALLOW_SHRINK`, `--allow-shrink`). */
  allowShrink: boolean;
  /** Spotify app client id (`SPOTIFY_CLIENT_ID`); set together with the secret, or neither. */
  spotifyClientId: string | undefined;
  /** `SPOTIFY_CLIENT_SECRET`: a secret (redacted in logs as `config.spotifyClientSecret`). */
  spotifyClientSecret: string | undefined;
  /** Spotify client tuning and enrichment TTL (no secrets). */
  spotify: SpotifySettings;
}

export interface SpotifySettings {
  /** Requests in any 1-second window (`SPOTIFY_MAX_RPS`). */
  maxRps: number;
  /** Requests in flight at once (`SPOTIFY_CONCURRENCY`). */
  concurrency: number;
  /** Per-attempt timeout (`SPOTIFY_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Retries after 5xx / resets / timeouts (`SPOTIFY_MAX_RETRIES`). */
  maxRetries: number;
  /** Search / artist-albums page size; 10 is the development-mode maximum (`SPOTIFY_PAGE_SIZE`). */
  pageSize: number;
  /** Market for top tracks (`SPOTIFY_MARKET`). */
  market: string;
  /** Stored Spotify data older than this is refreshed by enrichment and by live fetches (`SPOTIFY_ENRICH_TTL_DAYS`). */
  enrichTtlDays: number;
  /** Enrichment stops after this many consecutive failures of one kind (`SPOTIFY_CIRCUIT_BREAKER_FAILURES`). */
  circuitBreakerFailures: number;
  /** Override of https://api.spotify.com/v1 (`SPOTIFY_API_BASE_URL`; a proxy, or a test double). */
  apiBaseUrl: string | undefined;
  /** Override of https://accounts.spotify.com/api/token (`SPOTIFY_ACCOUNTS_URL`). */
  accountsUrl: string | undefined;
}

export interface HttpConfig {
  host: string;
  port: number;
  /** Bearer token clients must send; required when binding beyond loopback. */
  authToken: string | undefined;
  /** Origins allowed besides loopback ones (browser clients); `*` allows any. */
  allowedOrigins: string[];
  /** Host header values allowed besides loopback names (DNS-rebinding protection). */
  allowedHosts: string[];
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** A connection must send a request's complete header within this (`MCP_HEADERS_TIMEOUT_MS`), or it is closed. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (`MCP_KEEPALIVE_TIMEOUT_MS`). */
  keepAliveTimeoutMs: number;
  /** Open connections per process (`MCP_MAX_CONNECTIONS`); at the cap a new one evicts the longest-idle. */
  maxConnections: number;
  /** Messages in one POSTed JSON-RPC batch (`MCP_MAX_BATCH`). */
  maxBatch: number;
  /**
   * HTTP server processes (`MCP_HTTP_WORKERS`): 1 serves from this process; more fork workers that share
   * the port, each holding its own copy of the catalog. Default 1 on loopback, one per CPU beyond it.
   */
  workers: number;
}

/** `MCP_HTTP_WORKERS`: a count, or `auto` (one per CPU); unset: 1 on loopback (a desktop client), `auto` beyond it (serving a network). */
function httpWorkers(setting: string | undefined, host: string): number {
  const v = setting ?? (isLoopbackHost(host) ? '1' : 'auto');
  return v === 'auto' ? Math.min(64, availableParallelism()) : Number(v);
}

export const isLoopbackHost = (h: string) => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i.test(h);
const csv = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** Snowflake connection settings (`WAREHOUSE=snowflake`): password or key-pair auth. */
export interface SnowflakeConfig {
  /** Account identifier (`myorg-myaccount`, or a legacy locator such as `xy12345.eu-west-1`). */
  account: string;
  user: string;
  /** Password auth. Exactly one of password / privateKey / privateKeyPath is set. */
  password: string | undefined;
  /** Key-pair auth: the PEM text of the private key … */
  privateKey: string | undefined;
  /** … or the path of a PEM file holding it. */
  privateKeyPath: string | undefined;
  /** Passphrase of an encrypted private key. */
  privateKeyPassphrase: string | undefined;
  warehouse: string;
  database: string;
  /** The session's default schema (the pipeline itself writes `RAW`, `TRANSFORM` and `MARTS`). */
  schema: string;
  /** Unset: the user's default role. */
  role: string | undefined;
  /** Base URL override (a private-link host, or a test double on 127.0.0.1). */
  accessUrl: string | undefined;
}

const SNOWFLAKE_REQUIRED = ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER', 'SNOWFLAKE_WAREHOUSE', 'SNOWFLAKE_DATABASE'] as const;
const SNOWFLAKE_KEYS = ['SNOWFLAKE_PASSWORD', 'SNOWFLAKE_PRIVATE_KEY', 'SNOWFLAKE_PRIVATE_KEY_PATH'] as const;

/** With WAREHOUSE=snowflake: every missing or contradictory SNOWFLAKE_* key (names only, never values). */
function snowflakeIssues(env: Record<string, string | undefined>): string[] {
  if ((env.WAREHOUSE ?? '').trim() !== 'snowflake') return [];
  const set = (k: string) => (env[k] ?? '').trim() !== '';
  const issues = SNOWFLAKE_REQUIRED.filter((k) => !set(k)).map((k) => `${k}: required with WAREHOUSE=snowflake`);
  const auth = SNOWFLAKE_KEYS.filter(set);
  if (auth.length === 0) {
    issues.push('SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH: required with WAREHOUSE=snowflake (password or key-pair auth)');
  } else if (auth.length > 1) {
    issues.push(`${auth.join(', ')}: set only one (password, or a private key as PEM text or as a file path)`);
  }
  if (set('SNOWFLAKE_PRIVATE_KEY_PASSPHRASE') && !set('SNOWFLAKE_PRIVATE_KEY') && !set('SNOWFLAKE_PRIVATE_KEY_PATH')) {
    issues.push('SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: only used with SNOWFLAKE_PRIVATE_KEY_PATH (or SNOWFLAKE_PRIVATE_KEY)');
  }
  return issues;
}

/** One Spotify credential without the other (names only, never values). */
function spotifyIssues(env: Record<string, string | undefined>): string[] {
  const id = (env.SPOTIFY_CLIENT_ID ?? '').trim() !== '';
  const secret = (env.SPOTIFY_CLIENT_SECRET ?? '').trim() !== '';
  if (id === secret) return [];
  return [
    `SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET: set both (your Spotify app's client id and secret) or neither; only ${id ? 'SPOTIFY_CLIENT_ID' : 'SPOTIFY_CLIENT_SECRET'} is set`,
  ];
}

function snowflakeConfig(e: z.infer<typeof EnvSchema>, abs: (p: string) => string): SnowflakeConfig {
  return {
    account: e.SNOWFLAKE_ACCOUNT!,
    user: e.SNOWFLAKE_USER!,
    password: e.SNOWFLAKE_PASSWORD,
    privateKey: e.SNOWFLAKE_PRIVATE_KEY,
    privateKeyPath: e.SNOWFLAKE_PRIVATE_KEY_PATH ? abs(e.SNOWFLAKE_PRIVATE_KEY_PATH) : undefined,
    privateKeyPassphrase: e.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE,
    warehouse: e.SNOWFLAKE_WAREHOUSE!,
    database: e.SNOWFLAKE_DATABASE!,
    schema: e.SNOWFLAKE_SCHEMA ?? 'PUBLIC',
    role: e.SNOWFLAKE_ROLE,
    accessUrl: e.SNOWFLAKE_ACCESS_URL?.replace(/\/$/, ''),
  };
}

/**
 * Parse configuration from the environment, once. The only reader of process.env in the product.
 * Fails fast listing every bad key.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  const parsed = EnvSchema.safeParse(env);
  const warehouseIssues = [...snowflakeIssues(env), ...spotifyIssues(env)];
  if (!parsed.success || warehouseIssues.length) {
    const issues = [...(parsed.error?.issues ?? []).map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`), ...warehouseIssues];
    throw new ConfigError(`invalid configuration — fix these environment variables:\n  ${issues.join('\n  ')}`, issues);
  }
  const e = parsed.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const dataDir = abs(
    e.MUSIC_DATA_DIR ?? join(e.XDG_DATA_HOME && e.XDG_DATA_HOME.trim() ? e.XDG_DATA_HOME : join(homedir(), '.local', 'share'), 'music-mcp-server'),
  );
  const dataset = e.MUSIC_DATASET ?? DEFAULT_DATASET_URL;
  const dbtExecutable = e.MUSIC_DBT === 'core' ? 'dbt' : e.MUSIC_DBT === 'embedded' ? undefined : abs(e.MUSIC_DBT);
  if (dbtExecutable && dbtExecutable !== 'dbt' && !existsSync(dbtExecutable)) {
    const issue = `MUSIC_DBT: no dbt executable at ${dbtExecutable}; install dbt-core (npm run setup:python builds .venv-dbt/bin/dbt) or unset MUSIC_DBT for the embedded runner`;
    throw new ConfigError(`invalid configuration — fix these environment variables:\n  ${issue}`, [issue]);
  }
  const host = e.MCP_HTTP_HOST ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !e.MCP_AUTH_TOKEN) {
    const issue = `MCP_HTTP_HOST: binding to ${host} exposes the server beyond this machine; set MCP_AUTH_TOKEN (16+ characters) so clients must authenticate`;
    throw new ConfigError(`invalid configuration — fix these environment variables:\n  ${issue}`, [issue]);
  }
  return {
    dataDir,
    dataset: /^(https?|file):\/\//i.test(dataset) ? dataset : abs(dataset),
    duckdbPath: e.MUSIC_DUCKDB_PATH ? abs(e.MUSIC_DUCKDB_PATH) : join(dataDir, 'warehouse.duckdb'),
    snapshotDir: join(dataDir, 'snapshots'),
    snapshotPollMs: e.MUSIC_SNAPSHOT_POLL_MS,
    toolWaitMs: e.MUSIC_TOOL_WAIT_MS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    http: {
      host,
      port: e.MCP_HTTP_PORT,
      authToken: e.MCP_AUTH_TOKEN,
      allowedOrigins: csv(e.MCP_ALLOWED_ORIGINS),
      allowedHosts: csv(e.MCP_ALLOWED_HOSTS).map((h) => h.toLowerCase()),
      maxBodyBytes: e.MCP_MAX_BODY_BYTES,
      requestTimeoutMs: e.MCP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.MCP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.MCP_KEEPALIVE_TIMEOUT_MS,
      maxConnections: e.MCP_MAX_CONNECTIONS,
      maxBatch: e.MCP_MAX_BATCH,
      workers: httpWorkers(e.MCP_HTTP_WORKERS, host),
    },
    warehouse: e.WAREHOUSE,
    snowflake: e.WAREHOUSE === 'snowflake' ? snowflakeConfig(e, abs) : undefined,
    stagingUrl: e.STAGING_URL,
    freshnessMaxAgeHours: e.MUSIC_FRESHNESS_MAX_AGE_HOURS,
    dbt: dbtExecutable ? { engine: 'core', executable: dbtExecutable } : { engine: 'embedded' },
    runId: e.MUSIC_RUN_ID,
    allowShrink: e.MUSIC_ALLOW_SHRINK,
    spotifyClientId: e.SPOTIFY_CLIENT_ID,
    spotifyClientSecret: e.SPOTIFY_CLIENT_SECRET,
    spotify: {
      maxRps: e.SPOTIFY_MAX_RPS,
      concurrency: e.SPOTIFY_CONCURRENCY,
      timeoutMs: e.SPOTIFY_TIMEOUT_MS,
      maxRetries: e.SPOTIFY_MAX_RETRIES,
      pageSize: e.SPOTIFY_PAGE_SIZE,
      market: e.SPOTIFY_MARKET,
      enrichTtlDays: e.SPOTIFY_ENRICH_TTL_DAYS,
      circuitBreakerFailures: e.SPOTIFY_CIRCUIT_BREAKER_FAILURES,
      apiBaseUrl: e.SPOTIFY_API_BASE_URL?.replace(/\/+$/, ''),
      accountsUrl: e.SPOTIFY_ACCOUNTS_URL,
    },
  };
}

/** A connection URL with its password (and any password/sslkey query parameters) replaced, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    for (const k of [...u.searchParams.keys()]) {
      if (/pass|secret|key|token/i.test(k)) u.searchParams.set(k, 'redacted');
    }
    return u.toString();
  } catch {
    return '[unparseable URL]';
  }
}
