-- dim_tracks' list columns agree with the bridges: artist_names has one entry per
-- bridge_track_artists row, primary_artist_key is the artist at position 1, positions run
-- 1..n without gaps, and genres / subgenres have one entry per bridge_track_genres row of
-- their level. Returns the offending tracks.

with

artist_credits as (

    select
        track_id,
        count(*) as credit_count,
        min(artist_position) as min_position,
        max(artist_position) as max_position,
        count(distinct artist_position) as distinct_positions,
        max(case when artist_position = 1 then artist_key end) as position_1_key
    from {{ ref('bridge_track_artists') }}
    group by track_id

),

labels as (

    select
        track_id,
        sum(case when genre_level = 'genre' then 1 else 0 end) as genre_count,
        sum(case when genre_level = 'subgenre' then 1 else 0 end) as subgenre_count
    from {{ ref('bridge_track_genres') }}
    group by track_id

),

tracks as (

    select
        track_id,
        primary_artist_key,
        {{ list_size('artist_names') }} as artist_name_count,
        {{ list_size('genres') }} as genre_count,
        {{ list_size('subgenres') }} as subgenre_count
    from {{ ref('dim_tracks') }}

)

select tracks.track_id
from tracks
left join artist_credits
    on artist_credits.track_id = tracks.track_id
left join labels
    on labels.track_id = tracks.track_id
where tracks.artist_name_count <> coalesce(artist_credits.credit_count, 0)
    or coalesce(tracks.primary_artist_key, '') <> coalesce(artist_credits.position_1_key, '')
    or artist_credits.min_position <> 1
    or artist_credits.max_position <> artist_credits.credit_count
    or artist_credits.distinct_positions <> artist_credits.credit_count
    or tracks.genre_count <> coalesce(labels.genre_count, 0)
    or tracks.subgenre_count <> coalesce(labels.subgenre_count, 0)
    or tracks.genre_count = 0
