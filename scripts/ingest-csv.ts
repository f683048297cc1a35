// Acquire the dataset and stage it (CSV → staging.tracks, rejects → staging.track_rejects); the staged
// rows of that file become exactly the file's. `--allow-shrink` accepts losing more than half of them.
import { runSteps } from './cli.js';

await runSteps(['acquire','ingest']);
