// Copy staged tables into the warehouse raw schema.
import { runSteps } from './cli.js';

await runSteps(['load']);
