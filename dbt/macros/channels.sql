{#- The channels the models read: the var ``channels`` that afterclick builds from its channel
    registry and the staging folders (afterclick/dbt_channels.py) and passes to every dbt run.
    Running dbt by hand: dbt parse --vars "$(python -m afterclick.dbt_channels)". -#}
{% macro afterclick_channels(key) -%}
    {%- set channels = var('channels', none) -%}
    {%- if channels is none -%}
        {{ exceptions.raise_compiler_error(
            "the var 'channels' is not set: afterclick passes it to every dbt run (afterclick build, afterclick run). "
            ~ "To run dbt by hand, pass it from the channel registry: "
            ~ "dbt <command> --vars \"$(python -m afterclick.dbt_channels)\"") }}
    {%- endif -%}
    {{ return(channels[key]) }}
{%- endmacro %}

{#- The staging models of every channel that has ``entity`` (stg_<channel>__<entity>), to union. -#}
{% macro channel_staging_models(entity) -%}
    {%- set models = afterclick_channels('staging_models').get(entity, []) -%}
    {%- if models | length == 0 -%}
        {{ exceptions.raise_compiler_error("no channel has a staging model stg_<channel>__" ~ entity) }}
    {%- endif -%}
    {{ return(models) }}
{%- endmacro %}

{#- ``<column> in ('a', 'b')`` over a list of channels of the var (api_channels, writeback_channels);
    false when it is empty. -#}
{% macro channel_in(column, key) -%}
    {%- set names = afterclick_channels(key) -%}
    {%- if names | length == 0 -%}
        1 = 0
    {%- else -%}
        {{ column }} in ({% for name in names %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}
