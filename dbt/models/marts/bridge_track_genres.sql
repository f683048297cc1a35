-- Track ↔ genre labels of both levels: one row per (track_id, label).

with

track_genres as (

    select * from {{ ref('int_track_genres') }}

),

final as (

    select
        track_id || ':' || genre as bridge_key,
        track_id,
        genre,
        genre_level,
        parent_genre
    from track_genres

)

select * from final
