// Build the dbt marts and run their tests (fails on a failing test).
import { runSteps } from './cli.js';

await runSteps(['transform']);
