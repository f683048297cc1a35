-- genre_profiles counts each track once per label: per level, the track_counts add up to the
-- bridge_track_genres rows of that level; every track has at least one top-level genre, so the
-- 'genre' level adds up to at least the number of tracks; no label has more tracks than exist;
-- only subgenres have a parent. Returns one row per broken rule.

with

profiles as (

    select genre_level, sum(track_count) as profile_tracks, max(track_count) as max_tracks
    from {{ ref('genre_profiles') }}
    group by genre_level

),

bridge as (

    select genre_level, count(*) as bridge_rows
    from {{ ref('bridge_track_genres') }}
    group by genre_level

),

track_total as (

    select count(*) as tracks from {{ ref('dim_tracks') }}

)

select
    coalesce(profiles.genre_level, bridge.genre_level) as genre_level,
    'track_count sum differs from bridge_track_genres rows' as problem
from profiles
full outer join bridge
    on bridge.genre_level = profiles.genre_level
where profiles.profile_tracks is null
    or bridge.bridge_rows is null
    or profiles.profile_tracks <> bridge.bridge_rows

union all

select profiles.genre_level, 'a label has more tracks than dim_tracks' as problem
from profiles
cross join track_total
where profiles.max_tracks > track_total.tracks

union all

select 'genre' as genre_level, 'top-level track_counts add up to fewer than the tracks' as problem
from track_total
where track_total.tracks > (select coalesce(sum(profile_tracks), 0) from profiles where genre_level = 'genre')

union all

select genre_level, 'parent_genre set on a top-level genre: ' || genre as problem
from {{ ref('genre_profiles') }}
where genre_level = 'genre' and parent_genre is not null
