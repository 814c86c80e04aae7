{#- None of ``columns`` is ever null: one scan and one test node for all of a model's required
    columns (dbt's not_null is a node and a scan per column; each node costs dbt ~30-40 ms besides
    its query). Fails with one row per column that has nulls: its name and how many. -#}
{% test not_null_columns(model, columns) %}
with nulls as (
    select
    {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{% for column in columns -%}
select '{{ column }}' as column_name, nulls_{{ loop.index }} as null_rows from nulls where nulls_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
{% endtest %}
