// Publish the marts as a new serving snapshot (atomic switch; running servers pick it up).
import { runSteps } from './cli.js';

await runSteps(['publish']);
