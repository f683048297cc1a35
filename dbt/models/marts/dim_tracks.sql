-- One row per track_id: attributes of the chosen staged row, credits in order, labels of every
-- staged row, and the track's song identity.

with

tracks as (

    select * from {{ ref('int_tracks_deduplicated') }}

),

songs as (

    select * from {{ ref('int_track_songs') }}

),

artist_lists as (

    select
        tracks.track_id,
        {{ agg_ordered('track_artists.artist_name', 'track_artists.artist_position') }} as artist_names
    from tracks
    left join {{ ref('int_track_artists') }} as track_artists
        on track_artists.track_id = tracks.track_id
    group by tracks.track_id

),

release_years as (

    select
        track_id,
        {{ safe_cast('substr(album_release_date, 1, 4)', 'integer') }} as year_prefix
    from tracks

),

final as (

    select
        tracks.track_id,
        tracks.track_name,
        tracks.album_id,
        tracks.album_name,
        tracks.album_release_date as release_date,
        cast(
            case when release_years.year_prefix between 1000 and 9999 then release_years.year_prefix end
            as integer
        ) as release_year,
        artist_lists.artist_names,
        songs.primary_artist_key,
        tracks.popularity,
        tracks.duration_ms,
        tracks.explicit,
        tracks.danceability,
        tracks.energy,
        tracks.key,
        tracks.loudness,
        tracks.mode,
        tracks.speechiness,
        tracks.acousticness,
        tracks.instrumentalness,
        tracks.liveness,
        tracks.valence,
        tracks.tempo,
        tracks.time_signature,
        tracks.genres,
        tracks.subgenres,
        songs.song_key,
        songs.canonical_track_id,
        songs.is_canonical,
        songs.is_folded_version
    from tracks
    inner join songs
        on songs.track_id = tracks.track_id
    inner join artist_lists
        on artist_lists.track_id = tracks.track_id
    inner join release_years
        on release_years.track_id = tracks.track_id

)

select * from final
