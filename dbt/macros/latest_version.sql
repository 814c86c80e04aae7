{#- The latest version of every record of a raw table: one row per ``partition_by``, the first by
    ``order_by`` (e.g. 'updated_at desc, _loaded_at desc'); ``where`` filters before ranking. -#}
{% macro latest_version(relation, partition_by, order_by, where=none) -%}
    select * from (
        select *, row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _version_rank
        from {{ relation }}
        {% if where %}where {{ where }}{% endif %}
    ) as versions
    where _version_rank = 1
{%- endmacro %}

{#- latest_version for a staging model kept as an incremental table (incremental_staging below):
    ``record_key`` is an expression naming the record (the model's unique key, never null), and a
    build reads only the records with a version landed since its last build (the model's newest
    _loaded_at), ranks all of their versions again and replaces their rows. -#}
{% macro latest_version_of_news(relation, record_key, order_by, where=none) -%}
    select * from (
        select *, row_number() over (partition by _record_key order by {{ order_by }}) as _version_rank
        from (
            select *, {{ record_key }} as _record_key
            from {{ relation }}
            {% if where %}where {{ where }}{% endif %}
        ) as versions_landed
        {% if is_incremental() -%}
        where _record_key in (
            select {{ record_key }}
            from {{ relation }}
            where _loaded_at > {{ last_loaded_at() }}
            {% if where %}and {{ where }}{% endif %}
        )
        {%- endif %}
    ) as versions
    where _version_rank = 1
{%- endmacro %}

{#- A staging model of an append-only raw table kept as a table, incrementally (latest_version_of_news):
    its tests and readers no longer rank the whole history at each read. A change of its columns
    fails the build until it is run with --full-refresh. -#}
{% macro incremental_staging(unique_key) -%}
    {{ config(materialized='incremental', unique_key=unique_key, incremental_strategy='delete+insert',
              on_schema_change='fail') }}
{%- endmacro %}
