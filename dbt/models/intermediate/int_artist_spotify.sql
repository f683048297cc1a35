-- One row per dataset artist_key that enrichment resolved to a Spotify artist whose object is
-- staged: the Spotify fields the marts carry. Several artist_keys may share one Spotify id (two
-- spellings of one artist), so spotify_id is not unique here.

with

resolutions as (

    select
        artist_key,
        spotify_id,
        confidence,
        resolution_method
    from {{ ref('stg_spotify__artist_resolution') }}
    where spotify_id is not null

),

spotify_artists as (

    select * from {{ ref('stg_spotify__artists') }}

),

final as (

    select
        resolutions.artist_key,
        spotify_artists.spotify_id,
        resolutions.confidence as spotify_match_confidence,
        resolutions.resolution_method as spotify_match_method,
        spotify_artists.spotify_name,
        spotify_artists.followers as spotify_followers,
        spotify_artists.popularity as spotify_popularity,
        spotify_artists.genres as spotify_genres,
        spotify_artists.image_url as spotify_image_url,
        spotify_artists.spotify_url,
        -- The values are as of the last time the API returned them (staging checked_at).
        spotify_artists.checked_at as spotify_fetched_at
    from resolutions
    inner join spotify_artists
        on spotify_artists.spotify_id = resolutions.spotify_id

)

select * from final
