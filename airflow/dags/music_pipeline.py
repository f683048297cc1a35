"""
### music_pipeline: daily refresh of the music MCP server's catalog

Runs the project's own entry points in order, the same steps `npm run pipeline` runs without Airflow
(`PIPELINE_STEPS` in `src/pipeline/run.ts`), plus a freshness gate:

`ingest` → `enrich` → `load` → `transform` → `publish` → `freshness`

| task | command | does |
|---|---|---|
| ingest | `npm run ingest` | acquire the CSV, stream it into staging (PostgreSQL via COPY when `STAGING_URL` is set) |
| enrich | `npx tsx scripts/enrich-spotify.ts` | resolve artists against the Spotify Web API (throttled, resumable; a no-op without credentials) |
| load | `npm run load` | move staging into the warehouse `raw` schema (embedded DuckDB or Snowflake) |
| transform | `npm run transform` (the embedded runner, or dbt-core with Variable `music_dbt`) | build and test the dbt marts |
| publish | `npm run publish-snapshot` | write the serving snapshot, switched atomically |
| freshness | `npx tsx scripts/freshness.ts` | fail when the newest `raw.tracks.loaded_at` is older than the limit |

The enrich task reads the project's exit codes (`src/pipeline/exit-codes.ts`): 75 (stopped early on a
rate limit, spent quota or outage; finished work kept) is retried after at least 10 minutes, 78 (Spotify
refused the credentials, or a setting is wrong) fails at once without a retry.

Every task is idempotent (upserts by natural key, all-or-nothing transforms, atomic publish), so
retries and reruns are safe. A new version of the source file replaces its staged rows (rows it no
longer has are deleted), but ingest refuses one that would delete more than half of them (a truncated
download) unless the Variable `music_allow_shrink` is 1. All tasks of one DAG run share `MUSIC_RUN_ID={{ run_id }}`, so they
write one row of `ops.pipeline_runs`. Business logic stays in the project; this file only wires
configuration (Airflow Variables and Connections → environment) to commands. See `airflow/README.md`.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pendulum

try:  # Airflow 3: the task SDK's authoring interface
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException

try:  # Airflow 3 (and 2.x with apache-airflow-providers-standard)
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.x
    from airflow.operators.bash import BashOperator

# Jinja helpers: a setting is rendered only when its feature is switched on, so an unused
# connection never has to exist. Empty values are unset before the command runs (see _cmd).
_STAGING_ON = "var.value.get('music_staging', 'embedded') == 'postgres'"
_SNOWFLAKE_ON = "var.value.get('music_warehouse', 'duckdb') == 'snowflake'"
_SPOTIFY_ON = "var.value.get('music_enrich', 'on') != 'off'"


def _when(condition: str, expr: str) -> str:
    return "{{ (" + expr + ") if " + condition + " else '' }}"


ENV = {
    # One run id for every task of the DAG run: they all write one ops.pipeline_runs row.
    "MUSIC_RUN_ID": "{{ run_id }}",
    "MUSIC_DATA_DIR": "{{ var.value.get('music_data_dir', '') }}",
    "MUSIC_DATASET": "{{ var.value.get('music_dataset', '') }}",
    "MUSIC_FRESHNESS_MAX_AGE_HOURS": "{{ var.value.get('music_freshness_max_age_hours', '48') }}",
    # Ingest refuses (exit 65) a source file that lost more than half of its staged rows; Variable
    # music_allow_shrink = 1 accepts it. Set it for the one run that should shrink, then delete it.
    "MUSIC_ALLOW_SHRINK": "{{ var.value.get('music_allow_shrink', '') }}",
    "LOG_LEVEL": "{{ var.value.get('music_log_level', 'info') }}",
    # Transform engine: empty = the embedded runner; `core` = dbt on the worker's PATH; or a path to dbt.
    "MUSIC_DBT": "{{ var.value.get('music_dbt', '') }}",
    # PostgreSQL staging: Connection `music_staging_postgres` (conn type Postgres).
    "STAGING_URL": _when(_STAGING_ON, "conn.music_staging_postgres.get_uri()"),
    # Snowflake warehouse: Connection `music_snowflake` (conn type Snowflake; account etc. in extras).
    "WAREHOUSE": "{{ var.value.get('music_warehouse', 'duckdb') }}",
    "SNOWFLAKE_ACCOUNT": _when(_SNOWFLAKE_ON, "conn.music_snowflake.extra_dejson.get('account', '')"),
    "SNOWFLAKE_USER": _when(_SNOWFLAKE_ON, "conn.music_snowflake.login"),
    "SNOWFLAKE_PASSWORD": _when(_SNOWFLAKE_ON, "conn.music_snowflake.password or ''"),
    "SNOWFLAKE_PRIVATE_KEY_PATH": _when(_SNOWFLAKE_ON, "conn.music_snowflake.extra_dejson.get('private_key_file', '')"),
    "SNOWFLAKE_PRIVATE_KEY": _when(_SNOWFLAKE_ON, "conn.music_snowflake.extra_dejson.get('private_key_content', '')"),
    "SNOWFLAKE_WAREHOUSE": _when(_SNOWFLAKE_ON, "conn.music_snowflake.extra_dejson.get('warehouse', '')"),
    "SNOWFLAKE_DATABASE": _when(_SNOWFLAKE_ON, "conn.music_snowflake.extra_dejson.get('database', '')"),
    "SNOWFLAKE_SCHEMA": _when(_SNOWFLAKE_ON, "conn.music_snowflake.schema or ''"),
    "SNOWFLAKE_ROLE": _when(_SNOWFLAKE_ON, "conn.music_snowflake.extra_dejson.get('role', '')"),
    # Spotify Web API (client credentials): Connection `music_spotify` (login = client id, password = secret).
    "SPOTIFY_CLIENT_ID": _when(_SPOTIFY_ON, "conn.music_spotify.login"),
    "SPOTIFY_CLIENT_SECRET": _when(_SPOTIFY_ON, "conn.music_spotify.password"),
}

# Run from the project checkout (Variable `music_project_dir`); unset the settings rendered empty,
# so the project's own defaults apply (its config rejects empty values rather than guessing).
_PRELUDE = (
    "set -euo pipefail; "
    "cd \"{{ var.value.get('music_project_dir', '/opt/music-mcp-server') }}\"; "
    "for v in $(compgen -e); do [ -n \"${!v}\" ] || unset \"$v\"; done; "
)


def _cmd(command: str) -> str:
    """The bash command of a task: the prelude, then one project entry point."""
    return _PRELUDE + command


# Exit codes of the project's scripts (src/pipeline/exit-codes.ts; tests/airflow-dag.test.ts keeps them equal).
EX_DATAERR = 65
EX_TEMPFAIL = 75
EX_CONFIG = 78

# Failures a retry cannot fix: the task fails at once instead of using up its retries.
_NO_RETRY = {
    EX_DATAERR: "the source file would delete more than half of its staged rows (a truncated download?); "
    "check it, and set Variable music_allow_shrink=1 if the shrink is real",
    EX_CONFIG: "a setting or the Spotify credentials were refused; fix them (see the log), retrying cannot help",
}


class ProjectCommandOperator(BashOperator):
    """A BashOperator that reads the project's exit codes: EX_CONFIG and EX_DATAERR fail the task
    without a retry (AirflowFailException); every other failure, EX_TEMPFAIL included, is retried as usual."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowSkipException:
            raise
        except AirflowException as err:
            # BashOperator reports "... returned a non-zero exit code <n>."
            match = re.search(r"exit code (\d+)", str(err))
            code = int(match.group(1)) if match else None
            if code in _NO_RETRY:
                raise AirflowFailException(f"exit code {code}: {_NO_RETRY[code]}") from err
            raise


default_args = {
    "owner": "music",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=1),
    # Every task gets the same settings, on top of the worker's environment.
    "env": ENV,
    "append_env": True,
}

with DAG(
    dag_id="music_pipeline",
    description="Daily ELT refresh of the music MCP server catalog (ingest → enrich → load → dbt → publish → freshness)",
    doc_md=__doc__,
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    # The embedded DuckDB warehouse has one writer: never overlap runs.
    max_active_runs=1,
    default_args=default_args,
    tags=["music", "elt", "dbt", "mcp"],
) as dag:
    ingest = ProjectCommandOperator(
        task_id="ingest",
        bash_command=_cmd("npm run ingest"),
    )
    enrich = ProjectCommandOperator(
        task_id="enrich",
        # Variable music_enrich = off skips it (exit 99 → skipped) when there are no Spotify credentials.
        bash_command=_cmd(
            "if [ \"{{ var.value.get('music_enrich', 'on') }}\" = off ]; then echo 'enrichment switched off'; exit 99; fi; "
            "npx tsx scripts/enrich-spotify.ts"
        ),
        # Exit 75 (rate limit, quota, outage) is retried, no sooner than Spotify's pause is likely over.
        retries=3,
        retry_delay=timedelta(minutes=10),
    )
    load = BashOperator(
        task_id="load",
        bash_command=_cmd("npm run load"),
        # Runs after a skipped (switched-off) enrichment too; not after a failed one.
        trigger_rule="none_failed",
    )
    transform = BashOperator(
        task_id="transform",
        # The embedded runner, or dbt-core (`dbt build`) when Variable music_dbt is `core` or a path to
        # dbt: either way the run is recorded in ops.pipeline_runs and the same project is built.
        bash_command=_cmd("npm run transform"),
    )
    publish = BashOperator(
        task_id="publish",
        bash_command=_cmd("npm run publish-snapshot"),
    )
    freshness = BashOperator(
        task_id="freshness",
        bash_command=_cmd("npx tsx scripts/freshness.ts"),
        # A stale source is worth one look, not three: fail fast.
        retries=0,
    )

    ingest >> enrich >> load >> transform >> publish >> freshness
