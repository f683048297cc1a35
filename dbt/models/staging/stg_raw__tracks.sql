-- Staging: raw.tracks renamed and cast, nothing else. One row per source row.

with

source as (

    select * from {{ source('raw', 'tracks') }}

),

renamed as (

    select
        -- ids and provenance
        cast(row_key as varchar) as row_key,
        cast(source_schema as varchar) as source_schema,
        cast(source_file as varchar) as source_file,
        cast(source_line as integer) as source_line,
        cast(track_id as varchar) as track_id,

        -- names: trimmed, empty text as NULL
        nullif(trim(cast(track_name as varchar)), '') as track_name,
        nullif(trim(cast(artist_names as varchar)), '') as artist_names,
        cast(artist_credits as varchar) as artist_credits,
        nullif(trim(cast(album_id as varchar)), '') as album_id,
        nullif(trim(cast(album_name as varchar)), '') as album_name,
        nullif(trim(cast(album_release_date as varchar)), '') as album_release_date,
        nullif(trim(cast(playlist_id as varchar)), '') as playlist_id,
        nullif(trim(cast(playlist_name as varchar)), '') as playlist_name,

        -- labels
        lower(trim(cast(genre as varchar))) as genre,
        nullif(lower(trim(cast(subgenre as varchar))), '') as subgenre,

        -- track attributes
        cast(popularity as integer) as popularity,
        cast(duration_ms as integer) as duration_ms,
        cast(explicit as boolean) as explicit,

        -- audio features
        cast(danceability as double precision) as danceability,
        cast(energy as double precision) as energy,
        cast(key as integer) as key,
        cast(loudness as double precision) as loudness,
        cast(mode as integer) as mode,
        cast(speechiness as double precision) as speechiness,
        cast(acousticness as double precision) as acousticness,
        cast(instrumentalness as double precision) as instrumentalness,
        cast(liveness as double precision) as liveness,
        cast(valence as double precision) as valence,
        cast(tempo as double precision) as tempo,
        cast(time_signature as integer) as time_signature,

        -- change tracking
        cast(row_hash as varchar) as row_hash,
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
