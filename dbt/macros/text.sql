{#-
    Text helpers. Dialect-specific SQL lives here, behind adapter.dispatch: a warehouse gets its
    own `<adapter>__<macro>` implementation (e.g. snowflake__normalize_name) and no model changes.
    `default__` implementations are ANSI / PostgreSQL-flavoured.
-#}

{#- normalize_name(expr): the comparison key of a name (artist_key, song titles).
    Lowercase, accents stripped, runs of whitespace (Unicode spaces included) collapsed to one
    space, trimmed; NULL when nothing is left. -#}
{% macro normalize_name(expr) -%}
    {{ return(adapter.dispatch('normalize_name')(expr)) }}
{%- endmacro %}

{% macro duckdb__normalize_name(expr) -%}
    nullif(trim(regexp_replace(lower(strip_accents({{ expr }})), '[\s\pZ]+', ' ', 'g')), '')
{%- endmacro %}

{% macro default__normalize_name(expr) -%}
    {#- No portable strip_accents: translate the common Latin-1 / Latin Extended-A letters. -#}
    nullif(trim(regexp_replace(lower(translate({{ expr }},
        'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿŠšŽžČčĆćŁłŃńŚśŹźŻż',
        'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOoooooUUUUuuuuYyySsZzCcCcLlNnSsZzZz')),
        '[[:space:]]+', ' ', 'g')), '')
{%- endmacro %}


{#- clean_name(expr): a display name tidied, case and accents kept: runs of whitespace (Unicode
    spaces included) collapsed to one space, trimmed; NULL when nothing is left. -#}
{% macro clean_name(expr) -%}
    {{ return(adapter.dispatch('clean_name')(expr)) }}
{%- endmacro %}

{% macro duckdb__clean_name(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, '[\s\pZ]+', ' ', 'g')), '')
{%- endmacro %}

{% macro default__clean_name(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, '[[:space:]]+', ' ', 'g')), '')
{%- endmacro %}


{#- split_artists(expr): the raw artist credit string as a list of names, in credit order.
    Credits are joined by ';' (maharshipandya: "A;B"; TidyTuesday mostly one name, sometimes "A;B").
    Items are not trimmed here; int_track_artists trims them and drops empty ones. -#}
{% macro split_artists(expr) -%}
    {{ return(adapter.dispatch('split_artists')(expr)) }}
{%- endmacro %}

{% macro duckdb__split_artists(expr) -%}
    string_split({{ expr }}, ';')
{%- endmacro %}

{% macro default__split_artists(expr) -%}
    string_to_array({{ expr }}, ';')
{%- endmacro %}


{#- safe_cast(expr, data_type): cast, NULL instead of an error when the value does not convert. -#}
{% macro safe_cast(expr, data_type) -%}
    {{ return(adapter.dispatch('safe_cast')(expr, data_type)) }}
{%- endmacro %}

{% macro duckdb__safe_cast(expr, data_type) -%}
    try_cast({{ expr }} as {{ data_type }})
{%- endmacro %}

{% macro default__safe_cast(expr, data_type) -%}
    cast({{ expr }} as {{ data_type }})
{%- endmacro %}
