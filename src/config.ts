import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

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

const EnvSchema = z.object({
  MUSIC_DATA_DIR: z.string().trim().min(1).optional(),
  MUSIC_DATASET: z.string().trim().min(1).optional(),
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
  LOG_LEVEL: z.enum(LOG_LEVELS).optional().transform((v) => v ?? 'info'),
  XDG_DATA_HOME: z.string().optional(),
});

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
  http: HttpConfig;
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
}

export const isLoopbackHost = (h: string) => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i.test(h);
const csv = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/**
 * Parse configuration from the environment, once. The only reader of process.env in the product.
 * Fails fast listing every bad key.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration — fix these environment variables:\n  ${issues.join('\n  ')}`, issues);
  }
  const e = parsed.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const dataDir = abs(
    e.MUSIC_DATA_DIR ?? join(e.XDG_DATA_HOME && e.XDG_DATA_HOME.trim() ? e.XDG_DATA_HOME : join(homedir(), '.local', 'share'), 'music-mcp-server'),
  );
  const dataset = e.MUSIC_DATASET ?? DEFAULT_DATASET_URL;
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
    http: {
      host,
      port: e.MCP_HTTP_PORT,
      authToken: e.MCP_AUTH_TOKEN,
      allowedOrigins: csv(e.MCP_ALLOWED_ORIGINS),
      allowedHosts: csv(e.MCP_ALLOWED_HOSTS).map((h) => h.toLowerCase()),
      maxBodyBytes: e.MCP_MAX_BODY_BYTES,
      requestTimeoutMs: e.MCP_REQUEST_TIMEOUT_MS,
    },
  };
}
