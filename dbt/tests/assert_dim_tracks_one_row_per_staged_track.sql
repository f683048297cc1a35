-- Every staged track_id appears exactly once in dim_tracks, and dim_tracks holds no other id.
-- Returns the offending track_ids.

with

staged as (

    select distinct track_id from {{ ref('stg_raw__tracks') }}

),

dim as (

    select track_id, count(*) as row_count
    from {{ ref('dim_tracks') }}
    group by track_id

)

select
    coalesce(staged.track_id, dim.track_id) as track_id,
    case
        when dim.track_id is null then 'staged but missing from dim_tracks'
        when staged.track_id is null then 'in dim_tracks but not staged'
        else 'more than one row in dim_tracks'
    end as problem
from staged
full outer join dim
    on dim.track_id = staged.track_id
where staged.track_id is null
    or dim.track_id is null
    or dim.row_count <> 1
