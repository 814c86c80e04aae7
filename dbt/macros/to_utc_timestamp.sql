{#- A source's timestamp string as a UTC timestamp (without time zone), whatever offset it carries:
    '2024-02-06T10:00:00+02:00' is 08:00, '…-03:00' 13:00, '…Z' and '…+00:00' as written, up to 7
    fraction digits (VTEX). A string without an offset is taken as UTC and kept as written (store
    time zones are applied later, not here). A plain cast would drop the offset in DuckDB. -#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'afterclick')(expression)) }}
{%- endmacro %}

{#- Engines whose cast of an ISO 8601 string with an offset to a timestamp gives the instant, shown
    in the session time zone (Spark: run with spark.sql.session.timeZone=UTC). -#}
{% macro default__to_utc_timestamp(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro postgres__to_utc_timestamp(expression) -%}
    (cast({{ expression }} as timestamptz) at time zone 'UTC')
{%- endmacro %}

{#- DuckDB: only a string that ends with an offset goes through timestamptz (converted to UTC with
    timezone('UTC', …), the same in any session time zone); one without stays as written, so no
    session time zone (a reader's local one) ever shifts it. -#}
{% macro duckdb__to_utc_timestamp(expression) -%}
    case when regexp_matches({{ expression }}, '\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)$')
         then timezone('UTC', cast({{ expression }} as timestamptz))
         else cast({{ expression }} as timestamp) end
{%- endmacro %}
