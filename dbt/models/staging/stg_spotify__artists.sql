-- Staging: raw.spotify_artists renamed and cast, the ArtistObject payload parsed into columns.
-- Nothing else. Fields Spotify does not return (development-mode apps: followers, popularity,
-- genres) stay NULL, never 0 or an empty list.

with

source as (

    select * from {{ source('spotify', 'artists') }}

),

renamed as (

    select
        cast(spotify_id as varchar) as spotify_id,
        cast(artist_key as varchar) as artist_key,
        cast({{ json_get_text('payload', 'name') }} as varchar) as spotify_name,
        {{ safe_cast(json_get_text('payload', 'followers.total'), 'bigint') }} as followers,
        {{ safe_cast(json_get_text('payload', 'popularity'), 'integer') }} as popularity,
        {{ json_get_string_list('payload', 'genres') }} as genres,
        {{ json_largest_image_url('payload', 'images') }} as image_url,
        cast({{ json_get_text('payload', 'external_urls.spotify') }} as varchar) as spotify_url,
        cast(payload_hash as varchar) as payload_hash,
        cast(fetched_at as timestamp) as fetched_at,
        cast(checked_at as timestamp) as checked_at,
        cast(albums_checked_at as timestamp) as albums_checked_at

    from source

)

select * from renamed
