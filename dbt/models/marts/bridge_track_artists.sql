-- Track ↔ artist credits: one row per (track_id, artist_key), artist_position 1..n in credit order.

with

credits as (

    select * from {{ ref('int_track_artists') }}

),

final as (

    select
        track_id || ':' || artist_key as bridge_key,
        track_id,
        artist_key,
        artist_position
    from credits

)

select * from final
