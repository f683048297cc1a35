{#-
    List (array) helpers. Dialect-specific SQL lives here, behind adapter.dispatch; see text.sql.
    Snowflake has no typed lists: lists are ARRAYs, structs are OBJECTs (read back as JSON).
    Every aggregate below skips NULL inputs and returns an empty list, never NULL, for a group
    with nothing to collect.
-#}

{#- explode_list(relation, columns, list_expr, value_name, position_name):
    a SELECT with one row per item of list_expr (a list-valued column/expression of relation),
    carrying `columns` and adding value_name (the item) and position_name (1-based index).
    Rows whose list is NULL or empty produce no rows. -#}
{% macro explode_list(relation, columns, list_expr, value_name, position_name) -%}
    {{ return(adapter.dispatch('explode_list')(relation, columns, list_expr, value_name, position_name)) }}
{%- endmacro %}

{% macro duckdb__explode_list(relation, columns, list_expr, value_name, position_name) -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        unnest({{ list_expr }}) as {{ value_name }},
        generate_subscripts({{ list_expr }}, 1) as {{ position_name }}
    from {{ relation }}
{%- endmacro %}

{% macro default__explode_list(relation, columns, list_expr, value_name, position_name) -%}
    select
        {%- for column in columns %}
        exploded_source.{{ column }},
        {%- endfor %}
        exploded_items.{{ value_name }},
        exploded_items.{{ position_name }}
    from {{ relation }} as exploded_source
    cross join unnest(exploded_source.{{ list_expr }})
        with ordinality as exploded_items ({{ value_name }}, {{ position_name }})
{%- endmacro %}

{#- Snowflake: LATERAL FLATTEN; `index` is 0-based. Items are cast to varchar (ARRAY items are
    VARIANT; every list this project explodes holds text, as DuckDB's VARCHAR[] does). -#}
{% macro snowflake__explode_list(relation, columns, list_expr, value_name, position_name) -%}
    select
        {%- for column in columns %}
        exploded_source.{{ column }},
        {%- endfor %}
        cast(exploded_items.value as varchar) as {{ value_name }},
        cast(exploded_items.index + 1 as integer) as {{ position_name }}
    from {{ relation }} as exploded_source,
        lateral flatten(input => exploded_source.{{ list_expr }}) as exploded_items
{%- endmacro %}


{#- agg_distinct_sorted(expr): aggregate → sorted list of the distinct non-NULL values. -#}
{% macro agg_distinct_sorted(expr) -%}
    {{ return(adapter.dispatch('agg_distinct_sorted')(expr)) }}
{%- endmacro %}

{% macro duckdb__agg_distinct_sorted(expr) -%}
    coalesce(list(distinct {{ expr }} order by {{ expr }}) filter (where {{ expr }} is not null), [])
{%- endmacro %}

{% macro default__agg_distinct_sorted(expr) -%}
    coalesce(array_agg(distinct {{ expr }} order by {{ expr }}) filter (where {{ expr }} is not null), '{}')
{%- endmacro %}

{#- Snowflake's ARRAY_AGG skips NULLs; the coalesce guards the empty group. -#}
{% macro snowflake__agg_distinct_sorted(expr) -%}
    coalesce(array_agg(distinct {{ expr }}) within group (order by {{ expr }}), array_construct())
{%- endmacro %}


{#- agg_ordered(expr, order_by, limit=none): aggregate → list of expr in order_by order (a SQL
    ORDER BY list, e.g. 'popularity desc, track_id'), NULL items skipped; the first `limit` only
    when given. -#}
{% macro agg_ordered(expr, order_by, limit=none) -%}
    {{ return(adapter.dispatch('agg_ordered')(expr, order_by, limit)) }}
{%- endmacro %}

{% macro duckdb__agg_ordered(expr, order_by, limit) -%}
    {%- if limit -%}
    list_slice(coalesce(list({{ expr }} order by {{ order_by }}) filter (where {{ expr }} is not null), []), 1, {{ limit }})
    {%- else -%}
    coalesce(list({{ expr }} order by {{ order_by }}) filter (where {{ expr }} is not null), [])
    {%- endif -%}
{%- endmacro %}

{% macro default__agg_ordered(expr, order_by, limit) -%}
    {%- if limit -%}
    (coalesce(array_agg({{ expr }} order by {{ order_by }}) filter (where {{ expr }} is not null), '{}'))[1:{{ limit }}]
    {%- else -%}
    coalesce(array_agg({{ expr }} order by {{ order_by }}) filter (where {{ expr }} is not null), '{}')
    {%- endif -%}
{%- endmacro %}

{#- Snowflake: ARRAY_AGG … WITHIN GROUP (NULLs skipped); ARRAY_SLICE is 0-based, end exclusive. -#}
{% macro snowflake__agg_ordered(expr, order_by, limit) -%}
    {%- if limit -%}
    array_slice(coalesce(array_agg({{ expr }}) within group (order by {{ order_by }}), array_construct()), 0, {{ limit }})
    {%- else -%}
    coalesce(array_agg({{ expr }}) within group (order by {{ order_by }}), array_construct())
    {%- endif -%}
{%- endmacro %}


{#- make_struct(columns): a struct/object value whose fields are the given columns, named as the
    columns (select the columns under the wanted names first). -#}
{% macro make_struct(columns) -%}
    {{ return(adapter.dispatch('make_struct')(columns)) }}
{%- endmacro %}

{% macro duckdb__make_struct(columns) -%}
    struct_pack(
        {%- for column in columns %}{{ column }} := {{ column }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{% macro default__make_struct(columns) -%}
    json_build_object(
        {%- for column in columns %}'{{ column }}', {{ column }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{#- Snowflake: an OBJECT. _KEEP_NULL keeps NULL fields as JSON null, as a DuckDB struct keeps
    them (plain OBJECT_CONSTRUCT would drop the key). -#}
{% macro snowflake__make_struct(columns) -%}
    object_construct_keep_null(
        {%- for column in columns %}'{{ column }}', {{ column }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}


{#- percentile(expr, fraction): continuous percentile (linear interpolation) as an aggregate. -#}
{% macro percentile(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile')(expr, fraction)) }}
{%- endmacro %}

{% macro duckdb__percentile(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro default__percentile(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{#- Snowflake: exact PERCENTILE_CONT as an ordered-set aggregate (APPROX_PERCENTILE would differ
    from DuckDB's quantile_cont). -#}
{% macro snowflake__percentile(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}


{#- list_size(expr): number of items in a list (0 for an empty list, NULL for NULL). -#}
{% macro list_size(expr) -%}
    {{ return(adapter.dispatch('list_size')(expr)) }}
{%- endmacro %}

{% macro duckdb__list_size(expr) -%}
    len({{ expr }})
{%- endmacro %}

{% macro default__list_size(expr) -%}
    cardinality({{ expr }})
{%- endmacro %}

{% macro snowflake__list_size(expr) -%}
    array_size({{ expr }})
{%- endmacro %}
