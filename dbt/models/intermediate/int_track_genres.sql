-- One row per distinct (track_id, genre label), for labels of both levels.
--
-- A label is a top-level genre if it is used as a genre anywhere in the staged data (so a label
-- that is a genre in one dataset and a subgenre in another, e.g. 'reggaeton', is one 'genre'
-- label); every other subgenre label is level 'subgenre' with the parent genre it appears under
-- most often (ties: alphabetical). Each label therefore has exactly one level and one parent.

with

staged as (

    select track_id, genre, subgenre
    from {{ ref('stg_raw__tracks') }}

),

genre_labels as (

    select distinct genre as label
    from staged

),

subgenre_parent_counts as (

    select
        subgenre as label,
        genre as parent_genre,
        count(distinct track_id) as track_count
    from staged
    where subgenre is not null
        and subgenre not in (select label from genre_labels)
    group by subgenre, genre

),

subgenre_parents_ranked as (

    select
        label,
        parent_genre,
        row_number() over (
            partition by label
            order by track_count desc, parent_genre
        ) as parent_rank
    from subgenre_parent_counts

),

subgenre_labels as (

    select label, parent_genre
    from subgenre_parents_ranked
    where parent_rank = 1

),

track_labels as (

    select track_id, genre as label from staged
    union
    select track_id, subgenre as label from staged where subgenre is not null

),

final as (

    select
        track_labels.track_id,
        track_labels.label as genre,
        case when genre_labels.label is not null then 'genre' else 'subgenre' end as genre_level,
        case when genre_labels.label is null then subgenre_labels.parent_genre end as parent_genre
    from track_labels
    left join genre_labels
        on genre_labels.label = track_labels.label
    left join subgenre_labels
        on subgenre_labels.label = track_labels.label

)

select * from final
