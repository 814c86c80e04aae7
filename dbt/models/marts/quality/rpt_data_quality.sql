{{ config(materialized='incremental', unique_key='finding_key', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- Every data-quality finding ever seen (int_dq_findings), one row each: open while this build still
-- sees it, closed (is_open false) once the record was fixed at the source. first_seen_at is the
-- as-of instant of the first build that saw it, kept across builds; last_seen_at that of the last.
-- Each build rewrites every row it selects: the current findings and the ones kept from before.
with seen as (
    select finding_key, check_name, store_id, entity, record_key, detail
    from {{ ref('int_dq_findings') }}
)

{% if is_incremental() %}
, previous as (
    select finding_key, check_name, store_id, entity, record_key, detail, first_seen_at, last_seen_at
    from {{ this }}
)

select
    coalesce(s.finding_key, p.finding_key) as finding_key,
    coalesce(s.check_name, p.check_name) as check_name,
    coalesce(s.store_id, p.store_id) as store_id,
    coalesce(s.entity, p.entity) as entity,
    coalesce(s.record_key, p.record_key) as record_key,
    coalesce(s.detail, p.detail) as detail,
    case when p.first_seen_at is null or p.first_seen_at > {{ as_of() }} and s.finding_key is not null
         then {{ as_of() }} else p.first_seen_at end as first_seen_at,
    case when s.finding_key is not null then {{ as_of() }} else p.last_seen_at end as last_seen_at,
    case when s.finding_key is not null then true else false end as is_open
from seen as s
full outer join previous as p on s.finding_key = p.finding_key
{% else %}
select
    finding_key, check_name, store_id, entity, record_key, detail,
    {{ as_of() }} as first_seen_at,
    {{ as_of() }} as last_seen_at,
    true as is_open
from seen
{% endif %}
