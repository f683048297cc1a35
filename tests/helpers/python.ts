/**
 * The Python virtual environments built by `npm run setup:python` (.venv-dbt, .venv-airflow). A test
 * that needs one skips with a visible reason when it is absent — unless MUSIC_REQUIRE_PYTHON=1 (set by
 * .ci/run), when the same test runs and fails saying how to build it, so CI cannot pass without them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './dataset.js';

export type VenvName = 'dbt' | 'airflow';

export const PYTHON_REQUIRED = process.env.MUSIC_REQUIRE_PYTHON === '1';

export interface Venv {
  name: VenvName;
  dir: string;
  /** `bin/<program>` of the venv, e.g. bin('dbt'), bin('python'). */
  bin(program: string): string;
  /** Whether the venv has been built (its stamp is written last). */
  present: boolean;
  /** Run the test? (present, or required so that the absence fails it). */
  run: boolean;
  /** Appended to test names: empty when present, the skip reason otherwise. */
  skipNote: string;
  /** Throws with the fix when the venv is absent (inside a test that runs because it is required). */
  assertPresent(): void;
}

export function venv(name: VenvName): Venv {
  const dir = join(REPO_ROOT, `.venv-${name}`);
  const present = existsSync(join(dir, '.requirements-stamp')) && existsSync(join(dir, 'bin', 'python'));
  const fix = `run \`npm run setup:python -- ${name}\` (builds .venv-${name} from python/requirements-${name}.txt)`;
  return {
    name,
    dir,
    bin: (program) => join(dir, 'bin', program),
    present,
    run: present || PYTHON_REQUIRED,
    skipNote: present ? '' : PYTHON_REQUIRED ? ` [REQUIRED: .venv-${name} is missing]` : ` [SKIPPED: .venv-${name} is missing; ${fix}]`,
    assertPresent() {
      if (!present) throw new Error(`.venv-${name} is missing and MUSIC_REQUIRE_PYTHON=1: ${fix}`);
    },
  };
}
