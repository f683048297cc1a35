{#- Order-independent aggregates of floating-point columns.

    A parallel engine adds doubles in no fixed order, so avg() and stddev_samp() of a DOUBLE column
    differ in their last bits between two builds of the same data (DuckDB with several threads). Summing
    in DECIMAL(38, 12) is exact integer arithmetic: the same rows give the same bits on every build and
    on every warehouse. The audio features have at most a few decimals and |x| < 10^7 (duration_ms),
    so neither x nor x² loses anything that matters at 12 decimals, and the sums stay far below 10^26. -#}

{#- exact_mean(expr): arithmetic mean of a numeric column, as double precision. -#}
{% macro exact_mean(expr) -%}
    cast(avg(cast({{ expr }} as decimal(38, 12))) as double precision)
{%- endmacro %}

{#- exact_stddev_samp(expr): sample standard deviation (NULL below two values) from exact sums of x
    and x²; the final difference is taken in double precision. -#}
{% macro exact_stddev_samp(expr) -%}
    case when count({{ expr }}) > 1 then sqrt(greatest(
        (
            cast(sum(cast(power(cast({{ expr }} as double precision), 2) as decimal(38, 12))) as double precision)
            - power(cast(sum(cast({{ expr }} as decimal(38, 12))) as double precision), 2) / count({{ expr }})
        ) / (count({{ expr }}) - 1),
        0
    )) end
{%- endmacro %}
