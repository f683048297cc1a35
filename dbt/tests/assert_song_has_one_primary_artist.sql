-- Version folding never merges two artists' songs: every song_key holds tracks of one primary
-- artist, or tracks without one (each its own song). Returns the offending songs.

select
    song_key,
    count(distinct primary_artist_key) as primary_artists,
    count(*) - count(primary_artist_key) as tracks_without_artist,
    count(*) as tracks
from {{ ref('dim_tracks') }}
group by song_key
having count(distinct primary_artist_key) > 1
    or (count(primary_artist_key) > 0 and count(primary_artist_key) < count(*))
    or (count(primary_artist_key) = 0 and count(*) > 1)
