-- One row per artist_key (normalised name): the display spelling credited most often
-- (ties: alphabetical) and the number of track_ids credited to the artist (any position), with the
-- Spotify fields when enrichment resolved the artist (NULL otherwise, or when Spotify does not
-- return a field to this app).

with

credits as (

    select track_id, artist_key, artist_name
    from {{ ref('int_track_artists') }}

),

spellings as (

    select
        artist_key,
        artist_name,
        count(*) as credit_count
    from credits
    group by artist_key, artist_name

),

spellings_ranked as (

    select
        artist_key,
        artist_name,
        row_number() over (
            partition by artist_key
            order by credit_count desc, artist_name
        ) as spelling_rank
    from spellings

),

track_counts as (

    select
        artist_key,
        count(distinct track_id) as track_count
    from credits
    group by artist_key

),

spotify as (

    select * from {{ ref('int_artist_spotify') }}

),

final as (

    select
        spellings_ranked.artist_key,
        spellings_ranked.artist_name,
        cast(track_counts.track_count as integer) as track_count,
        spotify.spotify_id,
        spotify.spotify_followers,
        spotify.spotify_popularity,
        spotify.spotify_genres,
        spotify.spotify_image_url,
        spotify.spotify_url,
        spotify.spotify_fetched_at
    from spellings_ranked
    inner join track_counts
        on track_counts.artist_key = spellings_ranked.artist_key
    left join spotify
        on spotify.artist_key = spellings_ranked.artist_key
    where spellings_ranked.spelling_rank = 1

)

select * from final
