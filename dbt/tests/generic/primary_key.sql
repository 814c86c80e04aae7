{#- The column identifies a row: never null and never twice. One scan and one test node for what
    dbt's unique and not_null tests check in two (each node costs dbt ~30-40 ms besides its query).
    Fails with each offending key value and the rows that carry it. -#}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as rows_with_it
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
