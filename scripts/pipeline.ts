// Run the whole pipeline: acquire → ingest → load → transform → publish.
// `--steps ingest,load` runs a subset, in pipeline order. Exit codes: src/pipeline/exit-codes.ts (0 done,
// 75 enrichment stopped early and resumable, 78 settings or credentials refused,
// 65 a shrink refused, 1 failed); `--allow-shrink` accepts a source file that lost more than half of its rows.
import { EXIT } from '../src/pipeline/exit-codes.js';
import { PIPELINE_STEPS, type PipelineStep } from '../src/pipeline/run.js';
import { runSteps } from './cli.js';

const i = process.argv.indexOf('--steps');
const wanted = i >= 0 ? (process.argv[i + 1] ?? '').split(',').map((s) => s.trim()).filter(Boolean) : [...PIPELINE_STEPS];
const unknown = wanted.filter((s) => !(PIPELINE_STEPS as readonly string[]).includes(s));
if (unknown.length) {
  process.stderr.write(`unknown step(s) ${unknown.join(', ')}; steps are ${PIPELINE_STEPS.join(', ')}\n`);
  process.exit(EXIT.USAGE);
}
await runSteps(PIPELINE_STEPS.filter((s) => wanted.includes(s)) as PipelineStep[]);
