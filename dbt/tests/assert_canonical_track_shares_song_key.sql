-- canonical_track_id points at a track of the same song that is canonical itself and is the
-- song's most popular track (ties: smallest track_id). Returns the offending tracks.

with

tracks as (

    select track_id, popularity, song_key, canonical_track_id, is_canonical
    from {{ ref('dim_tracks') }}

),

best_per_song as (

    select song_key, max(popularity) as max_popularity
    from tracks
    group by song_key

)

select
    tracks.track_id,
    tracks.song_key,
    tracks.canonical_track_id,
    canonical.song_key as canonical_song_key
from tracks
left join tracks as canonical
    on canonical.track_id = tracks.canonical_track_id
inner join best_per_song
    on best_per_song.song_key = tracks.song_key
where canonical.track_id is null
    or canonical.song_key <> tracks.song_key
    or not canonical.is_canonical
    or tracks.is_canonical <> (tracks.track_id = tracks.canonical_track_id)
    or coalesce(canonical.popularity, -1) <> coalesce(best_per_song.max_popularity, -1)
    or exists (
        select 1
        from tracks as rival
        where rival.song_key = tracks.song_key
            and coalesce(rival.popularity, -1) = coalesce(canonical.popularity, -1)
            and rival.track_id < canonical.track_id
    )
