{#- Union the staging models of several sources into one shape: every branch selects the
    same canonical columns, in the same order. -#}
{% macro union_staging(models, columns) -%}
    {%- for name in models %}
    select {{ columns | join(', ') }} from {{ ref(name) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
