-- Staging: raw.artist_resolution renamed and cast. One row per dataset artist_key. Nothing else.

with

source as (

    select * from {{ source('spotify', 'artist_resolution') }}

),

renamed as (

    select
        cast(artist_key as varchar) as artist_key,
        cast(artist_name as varchar) as artist_name,
        cast(spotify_id as varchar) as spotify_id,
        cast(confidence as double precision) as confidence,
        cast(method as varchar) as resolution_method,
        cast(resolved_at as timestamp) as resolved_at

    from source

)

select * from renamed
