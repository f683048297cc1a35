/**
 * The Spotify client the product uses, built from the parsed configuration (never from process.env).
 * No credentials → null: enrichment is skipped and artist_metadata answers from stored data.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { SpotifyClient } from './client.js';
import type { SpotifyClientOptions } from './types.js';

/** True when both SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET are set (config rejects one without the other). */
export function hasSpotifyCredentials(config: Pick<Config, 'spotifyClientId' | 'spotifyClientSecret'>): boolean {
  return Boolean(config.spotifyClientId && config.spotifyClientSecret);
}

/** Client options from config; null without credentials. `overrides` tune one use (e.g. a shorter timeout for live tool calls). */
export function spotifyClientOptions(
  config: Pick<Config, 'spotifyClientId' | 'spotifyClientSecret' | 'spotify'>,
  log?: Logger,
  overrides: Partial<SpotifyClientOptions> = {},
): SpotifyClientOptions | null {
  if (!config.spotifyClientId || !config.spotifyClientSecret) return null;
  const s = config.spotify;
  return {
    clientId: config.spotifyClientId,
    clientSecret: config.spotifyClientSecret,
    maxRps: s.maxRps,
    concurrency: s.concurrency,
    timeoutMs: s.timeoutMs,
    maxRetries: s.maxRetries,
    pageSize: s.pageSize,
    market: s.market,
    ...(s.apiBaseUrl ? { apiBaseUrl: s.apiBaseUrl } : {}),
    ...(s.accountsUrl ? { accountsUrl: s.accountsUrl } : {}),
    ...(log ? { log } : {}),
    ...overrides,
  };
}

/** A SpotifyClient from config, or null without credentials. Close it when done. */
export function spotifyClientFromConfig(
  config: Pick<Config, 'spotifyClientId' | 'spotifyClientSecret' | 'spotify'>,
  log?: Logger,
  overrides: Partial<SpotifyClientOptions> = {},
): SpotifyClient | null {
  const options = spotifyClientOptions(config, log, overrides);
  return options ? new SpotifyClient(options) : null;
}
