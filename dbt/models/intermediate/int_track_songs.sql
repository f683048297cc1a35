-- Same-song handling: one row per track_id with its song_key and canonical_track_id.
--
-- song_key = fold_versions(normalize_name(track_name)) || '|' || primary artist_key, so the single,
-- album and compilation releases of a song (different track_ids) share a key, and so do its versions:
-- "x - 2011 remaster", "x (live)", "x (feat. y)" fold into "x" (macros/text.sql lists the rules).
-- Two primary artists never share a song. A track without a name or without a (non-empty) artist is
-- its own song: song_key = track_id (ids contain no '|').
-- canonical_track_id = within a song_key, the most popular track (ties: smallest track_id).
-- is_folded_version: the track's title differs from its canonical track's title (case, accents and
-- spacing aside), so it is another version folded into the song.

with

tracks as (

    select track_id, track_name, popularity
    from {{ ref('int_tracks_deduplicated') }}

),

primary_artists as (

    select track_id, artist_key
    from {{ ref('int_track_artists') }}
    where artist_position = 1

),

titled as (

    select
        tracks.track_id,
        tracks.popularity,
        primary_artists.artist_key as primary_artist_key,
        {{ normalize_name('tracks.track_name') }} as title_key
    from tracks
    left join primary_artists
        on primary_artists.track_id = tracks.track_id

),

keyed as (

    select
        track_id,
        popularity,
        primary_artist_key,
        title_key,
        {{ fold_versions('title_key') }} as song_title_key
    from titled

),

songs as (

    select
        track_id,
        popularity,
        primary_artist_key,
        title_key,
        case
            when song_title_key is not null and primary_artist_key is not null
                then song_title_key || '|' || primary_artist_key
            else track_id
        end as song_key
    from keyed

),

ranked as (

    select
        *,
        first_value(track_id) over (
            partition by song_key
            order by popularity desc nulls last, track_id
            rows between unbounded preceding and unbounded following
        ) as canonical_track_id,
        first_value(title_key) over (
            partition by song_key
            order by popularity desc nulls last, track_id
            rows between unbounded preceding and unbounded following
        ) as canonical_title_key
    from songs

),

final as (

    select
        track_id,
        song_key,
        primary_artist_key,
        canonical_track_id,
        track_id = canonical_track_id as is_canonical,
        coalesce(title_key <> canonical_title_key, false) as is_folded_version
    from ranked

)

select * from final
