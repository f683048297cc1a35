#!/usr/bin/env python3
"""Check that SQL files parse as Snowflake SQL, with sqlglot (pinned in python/requirements-dbt.txt).

Usage: check-snowflake-sql.py PATH [PATH ...]
  PATH is a .sql file or a folder searched recursively for *.sql (e.g. the dbt project compiled for
  the snowflake target: every model and every test). Prints one line per file that fails and exits
  1 when there is any, 0 when all pass, 2 when sqlglot is missing or nothing was found.

A file passes when sqlglot.parse(sql, read="snowflake") parses it and, because sqlglot's parser is
lenient (it also reads DuckDB's list(...), struct_pack(a := b) or FILTER (WHERE ...) without
complaint), when every function it could not map to a known one is a Snowflake function (the list
below) and no aggregate uses a FILTER clause, which Snowflake lacks.
"""
import sys
from pathlib import Path

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
except ImportError:
    print("sqlglot is not installed: run `npm run setup:python -- dbt` and use .venv-dbt/bin/python", file=sys.stderr)
    sys.exit(2)


# Snowflake built-in functions that sqlglot may leave as anonymous calls. Extend when a model uses
# another one (the name must be in Snowflake's function reference).
SNOWFLAKE_FUNCTIONS = frozenset("""
abs acos add_months any_value approx_count_distinct approx_percentile array_agg array_append
array_cat array_compact array_construct array_construct_compact array_contains array_distinct
array_except array_flatten array_generate_range array_insert array_intersection array_max array_min
array_position array_prepend array_remove array_size array_slice array_sort array_to_string
array_union_agg array_unique_agg arrays_overlap arrays_zip as_array as_varchar ascii avg
base64_encode bitand booland_agg boolor_agg ceil charindex chr coalesce collate concat concat_ws
contains convert_timezone count count_if current_database current_date current_role current_schema
current_timestamp current_warehouse date_part date_trunc dateadd datediff dayname decode dense_rank
div0 editdistance endswith equal_null exp extract first_value flatten floor get get_path greatest
hash iff ifnull ilike initcap insert is_array is_null_value lag last_value lead least left len
length listagg ln log lower lpad ltrim max max_by md5 median min min_by mod mode nth_value ntile
nullif nullifzero nvl nvl2 object_agg object_construct object_construct_keep_null object_delete
object_insert object_keys object_pick parse_json percent_rank percentile_cont percentile_disc
position pow power random rank ratio_to_report regexp_count regexp_instr regexp_like
regexp_replace regexp_substr repeat replace reverse right round row_number rpad rtrim sha2 sign
split split_part split_to_table sqrt square startswith stddev stddev_pop stddev_samp strtok
strtok_to_array substr substring sum sysdate to_array to_boolean to_char to_date to_decimal
to_double to_json to_number to_object to_timestamp to_timestamp_ntz to_varchar to_variant translate
trim trunc truncate try_cast try_to_boolean try_to_date try_to_decimal try_to_double try_to_number
try_to_timestamp try_parse_json is_object as_object as_number typeof uniform upper uuid_string var_pop
var_samp variance width_bucket zeroifnull
""".split()) | {"table"}  # TABLE(<table function>), e.g. TABLE(FLATTEN(...)): sqlglot 10 reads it as a call


def sql_files(args):
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.sql") if p.is_file())
        elif path.is_file():
            yield path
        else:
            print(f"no such file or folder: {arg}", file=sys.stderr)


def check(path):
    """The first parse error of the file as one line, or None when it parses."""
    sql = path.read_text(encoding="utf-8")
    try:
        statements = [s for s in sqlglot.parse(sql, read="snowflake") if s is not None]
    except (ParseError, TokenError) as err:
        return " ".join(str(err).split())[:300]
    if not statements:
        return "no SQL statement in the file"
    for statement in statements:
        for found in statement.walk():
            node = found[0] if isinstance(found, tuple) else found
            if isinstance(node, exp.Anonymous) and node.name.lower() not in SNOWFLAKE_FUNCTIONS:
                return f"{node.name}() is not a Snowflake function (sqlglot did not recognise it either)"
            if isinstance(node, exp.Filter):
                return f"aggregate FILTER clause ({' '.join(node.sql().split())[:80]}): Snowflake has none; use IFF / CASE inside the aggregate"
    return None


def main(argv):
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    files = list(sql_files(argv))
    if not files:
        print("no .sql files found", file=sys.stderr)
        return 2
    failures = [(f, err) for f in files for err in [check(f)] if err]
    for f, err in failures:
        print(f"FAIL {f}: {err}")
    print(f"sqlglot {sqlglot.__version__} (read='snowflake'): {len(files) - len(failures)} of {len(files)} files pass")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
