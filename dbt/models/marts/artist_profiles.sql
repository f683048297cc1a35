-- One row per artist_key: catalogue summary over every track the artist is credited on (any
-- position).
--
-- Duplicates of the same song (several track_ids sharing a song_key: single, album and
-- compilation releases) count once: the artist's songs are the distinct song_keys of their
-- tracks, each represented by its most popular credited track (ties: smallest track_id; this
-- is the canonical track whenever the artist is credited on it). track_count, popularity,
-- feature means, explicit_share and top_tracks use those representatives; genre/subgenre
-- counts are distinct songs per label, over all credited tracks. albums count track_ids
-- (distinct entries on an album are not duplicates); release years use every credited track.

{%- set top_n = var('top_n') %}

with

credits as (

    select
        track_artists.artist_key,
        tracks.*
    from {{ ref('bridge_track_artists') }} as track_artists
    inner join {{ ref('dim_tracks') }} as tracks
        on tracks.track_id = track_artists.track_id

),

credits_ranked as (

    select
        *,
        row_number() over (
            partition by artist_key, song_key
            order by popularity desc nulls last, track_id
        ) as song_rank
    from credits

),

songs as (

    select * from credits_ranked where song_rank = 1

),

song_stats as (

    select
        artist_key,
        count(*) as track_count,
        avg(popularity) as popularity_mean,
        max(popularity) as popularity_max,
        min(popularity) as popularity_min,
        {%- for feature in var('audio_features') %}
        {{ exact_mean(feature) }} as {{ feature }}_mean,
        {%- endfor %}
        avg(case when explicit then 1.0 when not explicit then 0.0 end) as explicit_share
    from songs
    group by artist_key

),

top_track_items as (

    select
        artist_key,
        track_id,
        track_name,
        popularity
    from songs

),

top_tracks as (

    select
        artist_key,
        {{ agg_ordered(make_struct(['track_id', 'track_name', 'popularity']), 'popularity desc nulls last, track_id', top_n) }} as top_tracks
    from top_track_items
    group by artist_key

),

label_counts as (

    select
        credits.artist_key,
        track_genres.genre,
        track_genres.genre_level,
        cast(count(distinct credits.song_key) as integer) as track_count
    from credits
    inner join {{ ref('bridge_track_genres') }} as track_genres
        on track_genres.track_id = credits.track_id
    group by credits.artist_key, track_genres.genre, track_genres.genre_level

),

label_lists as (

    select
        artist_keys.artist_key,
        {{ agg_ordered(
            "case when label_counts.genre_level = 'genre' then " ~ make_struct(['genre', 'track_count']) ~ " end",
            'label_counts.track_count desc, label_counts.genre'
        ) }} as genres,
        {{ agg_ordered(
            "case when label_counts.genre_level = 'subgenre' then " ~ make_struct(['genre', 'track_count']) ~ " end",
            'label_counts.track_count desc, label_counts.genre'
        ) }} as subgenres
    from (select distinct artist_key from credits) as artist_keys
    left join label_counts
        on label_counts.artist_key = artist_keys.artist_key
    group by artist_keys.artist_key

),

album_items as (

    select
        artist_key,
        album_name,
        album_id,
        cast(min(release_year) as integer) as release_year,
        cast(count(distinct track_id) as integer) as track_count
    from credits
    where album_id is not null or album_name is not null
    group by artist_key, album_name, album_id

),

album_lists as (

    select
        artist_keys.artist_key,
        {{ agg_ordered(
            make_struct(['album_name', 'album_id', 'release_year', 'track_count']),
            'album_items.release_year desc nulls last, album_items.album_name, album_items.album_id'
        ) }} as albums
    from (select distinct artist_key from credits) as artist_keys
    left join album_items
        on album_items.artist_key = artist_keys.artist_key
    group by artist_keys.artist_key

),

release_years as (

    select
        artist_key,
        min(release_year) as first_release_year,
        max(release_year) as last_release_year
    from credits
    group by artist_key

),

final as (

    select
        artists.artist_key,
        artists.artist_name,
        cast(song_stats.track_count as integer) as track_count,
        label_lists.genres,
        label_lists.subgenres,
        cast(song_stats.popularity_mean as double precision) as popularity_mean,
        cast(song_stats.popularity_max as integer) as popularity_max,
        cast(song_stats.popularity_min as integer) as popularity_min,
        {%- for feature in var('audio_features') %}
        cast(song_stats.{{ feature }}_mean as double precision) as {{ feature }}_mean,
        {%- endfor %}
        cast(song_stats.explicit_share as double precision) as explicit_share,
        top_tracks.top_tracks,
        album_lists.albums,
        cast(release_years.first_release_year as integer) as first_release_year,
        cast(release_years.last_release_year as integer) as last_release_year,
        artists.spotify_id,
        artists.spotify_followers,
        artists.spotify_popularity,
        artists.spotify_genres,
        artists.spotify_image_url,
        artists.spotify_url,
        artists.spotify_fetched_at
    from {{ ref('dim_artists') }} as artists
    inner join song_stats
        on song_stats.artist_key = artists.artist_key
    inner join top_tracks
        on top_tracks.artist_key = artists.artist_key
    inner join label_lists
        on label_lists.artist_key = artists.artist_key
    inner join album_lists
        on album_lists.artist_key = artists.artist_key
    inner join release_years
        on release_years.artist_key = artists.artist_key

)

select * from final
