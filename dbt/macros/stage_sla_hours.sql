{#- A stage's SLA in hours: var('stage_sla_hours') overrides the order_stages seed per stage. -#}
{% macro stage_sla_hours(stage_column, seed_sla_column) -%}
    {%- set overrides = var('stage_sla_hours', {}) -%}
    {%- if overrides -%}
    case {{ stage_column }}
        {%- for stage, hours in overrides.items() %} when '{{ stage }}' then {{ hours }}{% endfor %}
        else {{ seed_sla_column }} end
    {%- else -%}{{ seed_sla_column }}{%- endif -%}
{%- endmacro %}
