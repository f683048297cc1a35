-- One row per track_id. Staged rows repeat a track per genre / subgenre / playlist, and their
-- values can differ (popularity, names). The attributes come from one row, picked
-- deterministically: highest popularity, then smallest source_line, then row_key.
-- Exception for a track staged from both datasets: columns only one layout has are taken from
-- the best-ranked row that has them when the chosen row lacks them — explicit and
-- time_signature (maharshipandya) each on their own, the album block (album_id, album_name,
-- album_release_date; TidyTuesday) together from the best row with an album_id.
-- The track's labels from every row are carried as sorted lists (genres, subgenres; levels
-- from int_track_genres).

{%- set row_order = 'popularity desc nulls last, source_line, row_key' %}
{%- set whole_partition = 'rows between unbounded preceding and unbounded following' %}

with

staged as (

    select * from {{ ref('stg_raw__tracks') }}

),

ranked as (

    select
        *,
        row_number() over (partition by track_id order by {{ row_order }}) as row_rank,
        count(*) over (partition by track_id) as source_row_count,
        first_value(explicit) over (
            partition by track_id
            order by case when explicit is null then 1 else 0 end, {{ row_order }}
            {{ whole_partition }}
        ) as known_explicit,
        first_value(time_signature) over (
            partition by track_id
            order by case when time_signature is null then 1 else 0 end, {{ row_order }}
            {{ whole_partition }}
        ) as known_time_signature
        {%- for column in ['album_id', 'album_name', 'album_release_date'] %},
        first_value({{ column }}) over (
            partition by track_id
            order by case when album_id is null then 1 else 0 end, {{ row_order }}
            {{ whole_partition }}
        ) as album_block_{{ column }}
        {%- endfor %}
    from staged

),

chosen as (

    select * from ranked where row_rank = 1

),

labels as (

    select
        track_id,
        {{ agg_distinct_sorted("case when genre_level = 'genre' then genre end") }} as genres,
        {{ agg_distinct_sorted("case when genre_level = 'subgenre' then genre end") }} as subgenres
    from {{ ref('int_track_genres') }}
    group by track_id

),

final as (

    select
        chosen.track_id,
        chosen.track_name,
        chosen.artist_names,
        chosen.artist_credits,
        chosen.album_block_album_id as album_id,
        chosen.album_block_album_name as album_name,
        chosen.album_block_album_release_date as album_release_date,
        chosen.popularity,
        chosen.duration_ms,
        chosen.known_explicit as explicit,
        chosen.danceability,
        chosen.energy,
        chosen.key,
        chosen.loudness,
        chosen.mode,
        chosen.speechiness,
        chosen.acousticness,
        chosen.instrumentalness,
        chosen.liveness,
        chosen.valence,
        chosen.tempo,
        chosen.known_time_signature as time_signature,
        labels.genres,
        labels.subgenres,
        chosen.source_schema,
        chosen.source_file,
        chosen.source_line,
        chosen.row_key,
        cast(chosen.source_row_count as integer) as source_row_count
    from chosen
    inner join labels
        on labels.track_id = chosen.track_id

)

select * from final
