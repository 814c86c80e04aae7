{#- The newest _loaded_at in the model's own table: where its last (incremental) build stopped. -#}
{% macro last_loaded_at() -%}
    (select coalesce(max(_loaded_at), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}
