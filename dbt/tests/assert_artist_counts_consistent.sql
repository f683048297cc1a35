-- dim_artists.track_count is the artist's bridge_track_artists rows; artist_profiles covers
-- exactly the dim_artists keys, and its track_count (distinct songs) lies in
-- 1..dim_artists.track_count. Returns the offending artists.

with

credits as (

    select artist_key, count(*) as credit_count
    from {{ ref('bridge_track_artists') }}
    group by artist_key

),

artists as (

    select artist_key, track_count from {{ ref('dim_artists') }}

),

profiles as (

    select artist_key, track_count from {{ ref('artist_profiles') }}

)

select
    coalesce(artists.artist_key, profiles.artist_key, credits.artist_key) as artist_key
from artists
full outer join profiles
    on profiles.artist_key = artists.artist_key
full outer join credits
    on credits.artist_key = coalesce(artists.artist_key, profiles.artist_key)
where artists.artist_key is null
    or profiles.artist_key is null
    or credits.artist_key is null
    or artists.track_count <> credits.credit_count
    or profiles.track_count < 1
    or profiles.track_count > artists.track_count
