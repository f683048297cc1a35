// Enrich the staged artists from the Spotify Web API: resolve names to Spotify ids, fetch artist
// objects and album listings into staging (DuckDB, or PostgreSQL with STAGING_URL). Resumable:
// Ctrl-C / SIGTERM stop cleanly and a rerun (even after a kill) continues where it stopped; data
// fresher than SPOTIFY_ENRICH_TTL_DAYS is skipped. Progress on stderr, JSON summary on stdout.
// Without SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET it says so and exits 0 (enrichment is optional).
// Exit 75: stopped early (rate limit, quota, outage), rerun later to resume; 78: credentials refused.
import { runSteps } from './cli.js';

await runSteps(['enrich']);
