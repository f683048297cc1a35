// Acquire the dataset and stage it (CSV → staging.tracks, rejects → staging.track_rejects).
import { runSteps } from './cli.js';

await runSteps(['acquire','ingest']);
