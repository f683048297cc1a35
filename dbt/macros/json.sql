{#-
    JSON helpers for the Spotify payloads (raw.spotify_* `payload`: the API's JSON object as text).
    Dialect-specific SQL behind adapter.dispatch, as in text.sql: `duckdb__`, `snowflake__`
    (try_parse_json / get_path / flatten) and `default__` (PostgreSQL-flavoured). `path` is a dotted key path such as 'followers.total'.
    An absent key, a JSON null, or a value of the wrong kind gives NULL: Spotify no longer returns
    some fields to development-mode apps, and absent must stay NULL, never 0 or an empty list.
-#}

{#- json_get_text(json_expr, path): the value at path as text (NULL when absent or null). -#}
{% macro json_get_text(json_expr, path) -%}
    {{ return(adapter.dispatch('json_get_text')(json_expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_get_text(json_expr, path) -%}
    json_extract_string({{ json_expr }}, '$.{{ path }}')
{%- endmacro %}

{% macro default__json_get_text(json_expr, path) -%}
    (cast({{ json_expr }} as json) #>> '{ {{- path | replace('.', ',') -}} }')
{%- endmacro %}

{#- Snowflake: GET_PATH on the parsed text (TRY_PARSE_JSON: malformed text gives NULL); a JSON
    null casts to NULL, a string to its value, anything else to its JSON text. -#}
{% macro snowflake__json_get_text(json_expr, path) -%}
    cast(get_path(try_parse_json({{ json_expr }}), '{{ path }}') as varchar)
{%- endmacro %}


{#- json_get_string_list(json_expr, path): the JSON array of strings at path as a list of text;
    NULL when the key is absent or not an array (an empty array stays an empty list). -#}
{% macro json_get_string_list(json_expr, path) -%}
    {{ return(adapter.dispatch('json_get_string_list')(json_expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_get_string_list(json_expr, path) -%}
    case when json_type({{ json_expr }}, '$.{{ path }}') = 'ARRAY'
        then from_json(json_extract({{ json_expr }}, '$.{{ path }}'), '["VARCHAR"]') end
{%- endmacro %}

{% macro default__json_get_string_list(json_expr, path) -%}
    case when json_typeof(cast({{ json_expr }} as json) #> '{ {{- path | replace('.', ',') -}} }') = 'array'
        then array(select json_array_elements_text(cast({{ json_expr }} as json) #> '{ {{- path | replace('.', ',') -}} }')) end
{%- endmacro %}

{#- Snowflake: the ARRAY itself (its items are VARIANT strings, as lists are everywhere on Snowflake). -#}
{% macro snowflake__json_get_string_list(json_expr, path) -%}
    case when is_array(get_path(try_parse_json({{ json_expr }}), '{{ path }}'))
        then as_array(get_path(try_parse_json({{ json_expr }}), '{{ path }}')) end
{%- endmacro %}


{#- json_largest_image_url(json_expr, path): from the ImageObject array at path ({url, width,
    height}), the url of the largest image (width × height, unknown sizes count 0; ties by url);
    NULL when there is none. -#}
{% macro json_largest_image_url(json_expr, path) -%}
    {{ return(adapter.dispatch('json_largest_image_url')(json_expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_largest_image_url(json_expr, path) -%}
    (select image.url
     from (select unnest(from_json(json_extract({{ json_expr }}, '$.{{ path }}'),
                '[{"url": "VARCHAR", "width": "BIGINT", "height": "BIGINT"}]'), recursive := true)) as image
     order by coalesce(image.width, 0) * coalesce(image.height, 0) desc, image.url
     limit 1)
{%- endmacro %}

{% macro default__json_largest_image_url(json_expr, path) -%}
    (select image ->> 'url'
     from json_array_elements(
            case when json_typeof(cast({{ json_expr }} as json) #> '{ {{- path | replace('.', ',') -}} }') = 'array'
                then cast({{ json_expr }} as json) #> '{ {{- path | replace('.', ',') -}} }' end) as image
     order by coalesce(cast(image ->> 'width' as bigint), 0) * coalesce(cast(image ->> 'height' as bigint), 0) desc,
              image ->> 'url'
     limit 1)
{%- endmacro %}

{#- Snowflake allows a correlated scalar subquery when it is an aggregate without GROUP BY (no
    ORDER BY … LIMIT 1): the minimum of a sort key — 20-digit (10^20 - area), then the url — picks
    the largest image, ties by url; the 20-character prefix is cut off again. -#}
{% macro snowflake__json_largest_image_url(json_expr, path) -%}
    (select substr(min(
                lpad(to_varchar(100000000000000000000 - coalesce(try_to_number(cast(image.value:width as varchar)), 0)
                                                   * coalesce(try_to_number(cast(image.value:height as varchar)), 0)), 21, '0')
                || cast(image.value:url as varchar)), 22)
     from table(flatten(input => get_path(try_parse_json({{ json_expr }}), '{{ path }}'))) as image
     where cast(image.value:url as varchar) is not null)
{%- endmacro %}
