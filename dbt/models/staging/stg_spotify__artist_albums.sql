-- Staging: raw.spotify_artist_albums renamed and cast, the SimplifiedAlbumObject payload parsed
-- into columns. One row per (artist id, album id). Nothing else.

with

source as (

    select * from {{ source('spotify', 'artist_albums') }}

),

renamed as (

    select
        cast(spotify_id as varchar) as spotify_id,
        cast(album_id as varchar) as album_id,
        cast(spotify_id as varchar) || ':' || cast(album_id as varchar) as artist_album_key,
        cast({{ json_get_text('payload', 'name') }} as varchar) as album_name,
        cast({{ json_get_text('payload', 'album_type') }} as varchar) as album_type,
        cast({{ json_get_text('payload', 'album_group') }} as varchar) as album_group,
        cast({{ json_get_text('payload', 'release_date') }} as varchar) as release_date,
        cast({{ json_get_text('payload', 'release_date_precision') }} as varchar) as release_date_precision,
        {{ safe_cast(json_get_text('payload', 'total_tracks'), 'integer') }} as total_tracks,
        {{ json_largest_image_url('payload', 'images') }} as image_url,
        cast({{ json_get_text('payload', 'external_urls.spotify') }} as varchar) as spotify_url,
        cast(payload_hash as varchar) as payload_hash,
        cast(fetched_at as timestamp) as fetched_at,
        cast(checked_at as timestamp) as checked_at

    from source

)

select * from renamed
