{#- Time zones, engine-neutral. Timestamps in the warehouse are UTC instants without a time zone;
    a store's local time is shown or grouped by through these macros, with the zone an IANA name
    (a literal such as "'America/Sao_Paulo'" or a column such as 'st.timezone').

    Daylight saving, for a local time read as an instant (local_to_utc):
    - a local time in a spring-forward gap (02:30 on a night the clocks jump from 02:00 to 03:00)
      does not exist: it is read with the offset in force before the jump, so it lands as the
      instant the clocks showed 03:30;
    - a local time in a fall-back repeated hour (02:30 on a night the clocks go back from 03:00 to
      02:00) happens twice: it is read as the first of the two (still in summer time).
    This is java.time's rule (Spark's to_utc_timestamp) and Python's fold=0. -#}

{#- A UTC instant as the wall-clock time in ``zone`` (a timestamp without time zone). -#}
{% macro utc_to_local(timestamp, zone) -%}
    {{ return(adapter.dispatch('utc_to_local', 'afterclick')(timestamp, zone)) }}
{%- endmacro %}

{% macro default__utc_to_local(timestamp, zone) -%}
    from_utc_timestamp({{ timestamp }}, {{ zone }})
{%- endmacro %}

{% macro postgres__utc_to_local(timestamp, zone) -%}
    ((({{ timestamp }}) at time zone 'UTC') at time zone {{ zone }})
{%- endmacro %}

{#- DuckDB (ICU): timezone('UTC', ts) reads the naive value as a UTC instant, timezone(zone, that)
    shows it in the zone; the session's own time zone plays no part. -#}
{% macro duckdb__utc_to_local(timestamp, zone) -%}
    timezone({{ zone }}, timezone('UTC', {{ timestamp }}))
{%- endmacro %}

{#- The calendar day in ``zone`` of a UTC instant. -#}
{% macro local_date(timestamp, zone) -%}
    cast({{ utc_to_local(timestamp, zone) }} as date)
{%- endmacro %}

{#- A wall-clock time in ``zone`` as a UTC instant (timestamp without time zone), by the
    daylight-saving rule above. -#}
{% macro local_to_utc(timestamp, zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'afterclick')(timestamp, zone)) }}
{%- endmacro %}

{% macro default__local_to_utc(timestamp, zone) -%}
    to_utc_timestamp({{ timestamp }}, {{ zone }})
{%- endmacro %}

{% macro postgres__local_to_utc(timestamp, zone) -%}
    ((({{ timestamp }}) at time zone {{ zone }}) at time zone 'UTC')
{%- endmacro %}

{#- DuckDB (ICU) reads a gap's time as java.time does, but a repeated hour as its second
    occurrence: when the instant one hour earlier shows the same wall-clock time, that earlier
    instant (the first occurrence) is taken. -#}
{% macro duckdb__local_to_utc(timestamp, zone) -%}
    {%- set later = "timezone('UTC', timezone(" ~ zone ~ ", " ~ timestamp ~ "))" -%}
    case when timezone({{ zone }}, timezone('UTC', {{ later }} - interval 1 hour)) = {{ timestamp }}
         then {{ later }} - interval 1 hour
         else {{ later }} end
{%- endmacro %}
