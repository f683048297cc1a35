// Run the whole pipeline: acquire → ingest → load → transform → publish.
// `--steps ingest,load` runs a subset, in pipeline order; `--allow-shrink` accepts a source file that lost
// more than half of its rows (see scripts/cli.ts).
import { PIPELINE_STEPS, type PipelineStep } from '../src/pipeline/run.js';
import { runSteps } from './cli.js';

const i = process.argv.indexOf('--steps');
const wanted = i >= 0 ? (process.argv[i + 1] ?? '').split(',').map((s) => s.trim()).filter(Boolean) : [...PIPELINE_STEPS];
const unknown = wanted.filter((s) => !(PIPELINE_STEPS as readonly string[]).includes(s));
if (unknown.length) {
  process.stderr.write(`unknown step(s) ${unknown.join(', ')}; steps are ${PIPELINE_STEPS.join(', ')}\n`);
  process.exit(64);
}
await runSteps(PIPELINE_STEPS.filter((s) => wanted.includes(s)) as PipelineStep[]);
