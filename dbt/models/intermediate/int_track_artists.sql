-- One row per (track_id, artist): the chosen row's credits (int_tracks_deduplicated) as split at
-- ingest (artist_credits: names joined by U+001F; the separator is recognised per file there, see
-- src/pipeline/credits.ts; rows staged before that column existed: artist_names split on ';'), items tidied (clean_name: whitespace collapsed, trimmed), empty items dropped;
-- artist_key = normalize_name(name). An artist credited twice on one track keeps its first
-- place; artist_position is then renumbered 1..n in credit order (1 = primary artist).

with

tracks as (

    select
        track_id,
        {{ split_artists('artist_credits', 'artist_names') }} as artist_list
    from {{ ref('int_tracks_deduplicated') }}
    where artist_names is not null

),

credits as (

    {{ explode_list('tracks', ['track_id'], 'artist_list', 'credited_name', 'credit_index') }}

),

cleaned as (

    select
        track_id,
        credit_index,
        {{ clean_name('credited_name') }} as artist_name,
        {{ normalize_name('credited_name') }} as artist_key
    from credits

),

first_credit as (

    select
        *,
        row_number() over (partition by track_id, artist_key order by credit_index) as credit_rank
    from cleaned
    where artist_key is not null

),

final as (

    select
        track_id,
        artist_key,
        artist_name,
        cast(row_number() over (partition by track_id order by credit_index) as integer) as artist_position
    from first_credit
    where credit_rank = 1

)

select * from final
