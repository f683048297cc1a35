{#-
    Use a model's custom schema (`+schema:` in dbt_project.yml, or config(schema=...)) as written,
    instead of dbt's default `<target.schema>_<custom>`: the marts land in `marts`, the views in
    `transform`, on every target. Models without a custom schema go to the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}
    {%- endif -%}
{%- endmacro %}
