{#- A source's timestamp string as a UTC timestamp (without time zone), whatever offset it carries:
    '2024-02-06T10:00:00+02:00' is 08:00, '…-03:00' 13:00, '…Z' and '…+00:00' as written, up to 7
    fraction digits (VTEX). A string without an offset is a wall-clock time in ``zone`` (an IANA
    name, literal or column; the daylight-saving rule of local_to_utc in time_zones.sql); without
    a zone, in UTC, kept as written. A plain cast would drop the offset in DuckDB. -#}
{% macro to_utc_timestamp(expression, zone=none) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'afterclick')(expression, zone)) }}
{%- endmacro %}

{#- Engines whose cast of an ISO 8601 string with an offset to a timestamp gives the instant, shown
    in the session time zone (Spark: run with spark.sql.session.timeZone=UTC). -#}
{% macro default__to_utc_timestamp(expression, zone=none) -%}
    {%- if zone is none -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
    {%- else -%}
    case when {{ expression }} rlike '\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?\\s*([zZ]|[+-]\\d\\d(:?\\d\\d)?)$'
         then cast({{ expression }} as {{ dbt.type_timestamp() }})
         else {{ local_to_utc('cast(' ~ expression ~ ' as ' ~ dbt.type_timestamp() ~ ')', zone) }} end
    {%- endif -%}
{%- endmacro %}

{% macro postgres__to_utc_timestamp(expression, zone=none) -%}
    {%- if zone is none -%}
    (cast({{ expression }} as timestamptz) at time zone 'UTC')
    {%- else -%}
    case when {{ expression }} ~ '\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)$'
         then (cast({{ expression }} as timestamptz) at time zone 'UTC')
         else {{ local_to_utc('cast(' ~ expression ~ ' as timestamp)', zone) }} end
    {%- endif -%}
{%- endmacro %}

{#- DuckDB: only a string that ends with an offset goes through timestamptz (converted to UTC with
    timezone('UTC', …), the same in any session time zone); one without is read in ``zone``, or
    stays as written, so no session time zone (a reader's local one) ever shifts it. -#}
{% macro duckdb__to_utc_timestamp(expression, zone=none) -%}
    case when regexp_matches({{ expression }}, '\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)$')
         then timezone('UTC', cast({{ expression }} as timestamptz))
         else {{ local_to_utc('cast(' ~ expression ~ ' as timestamp)', zone) if zone is not none
                 else 'cast(' ~ expression ~ ' as timestamp)' }} end
{%- endmacro %}
