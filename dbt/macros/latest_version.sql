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
