-- One row per genre label of either level: size, popularity, explicit share, distribution of
-- every audio feature in var('audio_features') and the top var('top_n') artists. Each track
-- counts once per label (dim_tracks × bridge_track_genres, not staged rows).

{%- set percentiles = [10, 25, 50, 75, 90] %}

with

genre_tracks as (

    select
        bridge.genre,
        bridge.genre_level,
        bridge.parent_genre,
        tracks.*
    from {{ ref('bridge_track_genres') }} as bridge
    inner join {{ ref('dim_tracks') }} as tracks
        on tracks.track_id = bridge.track_id

),

track_stats as (

    select
        genre,
        genre_level,
        parent_genre,
        count(*) as track_count,
        avg(popularity) as popularity_mean,
        avg(case when explicit then 1.0 when not explicit then 0.0 end) as explicit_share
        {%- for feature in var('audio_features') %},
        {{ exact_mean(feature) }} as {{ feature }}_mean,
        {{ exact_stddev_samp(feature) }} as {{ feature }}_stddev
        {%- for p in percentiles %},
        {{ percentile(feature, p / 100) }} as {{ feature }}_p{{ p }}
        {%- endfor %}
        {%- endfor %}
    from genre_tracks
    group by genre, genre_level, parent_genre

),

genre_artists as (

    select
        genre_tracks.genre,
        track_artists.artist_key,
        count(*) as track_count,
        avg(genre_tracks.popularity) as popularity_mean
    from genre_tracks
    inner join {{ ref('bridge_track_artists') }} as track_artists
        on track_artists.track_id = genre_tracks.track_id
    group by genre_tracks.genre, track_artists.artist_key

),

genre_labels as (

    select distinct genre from genre_tracks

),

artist_stats as (

    select
        genre_labels.genre,
        count(genre_artists.artist_key) as artist_count,
        {{ agg_ordered(
            'artists.artist_name',
            'genre_artists.track_count desc, genre_artists.popularity_mean desc nulls last, artists.artist_name, genre_artists.artist_key',
            var('top_n')
        ) }} as top_artists
    from genre_labels
    left join genre_artists
        on genre_artists.genre = genre_labels.genre
    left join {{ ref('dim_artists') }} as artists
        on artists.artist_key = genre_artists.artist_key
    group by genre_labels.genre

),

final as (

    select
        track_stats.genre,
        track_stats.genre_level,
        track_stats.parent_genre,
        cast(track_stats.track_count as integer) as track_count,
        cast(artist_stats.artist_count as integer) as artist_count,
        cast(track_stats.popularity_mean as double precision) as popularity_mean,
        cast(track_stats.explicit_share as double precision) as explicit_share,
        {%- for feature in var('audio_features') %}
        cast(track_stats.{{ feature }}_mean as double precision) as {{ feature }}_mean,
        cast(track_stats.{{ feature }}_stddev as double precision) as {{ feature }}_stddev,
        {%- for p in percentiles %}
        cast(track_stats.{{ feature }}_p{{ p }} as double precision) as {{ feature }}_p{{ p }},
        {%- endfor %}
        {%- endfor %}
        artist_stats.top_artists
    from track_stats
    inner join artist_stats
        on artist_stats.genre = track_stats.genre

)

select * from final
