{#-
    Text helpers. Dialect-specific SQL lives here, behind adapter.dispatch: a warehouse gets its
    own `<adapter>__<macro>` implementation and no model changes: `duckdb__`, `snowflake__`, and
    `default__` (ANSI / PostgreSQL-flavoured).
-#}

{#- normalize_name(expr): the comparison key of a name (artist_key, song titles).
    Lowercase, accents stripped, runs of whitespace (Unicode spaces included) collapsed to one
    space, trimmed; NULL when nothing is left. The Spotify enrichment keys its artists with this
    macro too (compiled for the staging dialect by src/pipeline/enrich.ts), so the two keys agree. -#}
{% macro normalize_name(expr) -%}
    {{ return(adapter.dispatch('normalize_name')(expr)) }}
{%- endmacro %}

{% macro duckdb__normalize_name(expr) -%}
    nullif(trim(regexp_replace(lower(strip_accents({{ expr }})), '[\s\pZ]+', ' ', 'g')), '')
{%- endmacro %}

{% macro default__normalize_name(expr) -%}
    {#- No portable strip_accents: translate the common Latin-1 / Latin Extended-A letters. -#}
    nullif(trim(regexp_replace(lower(translate({{ expr }},
        'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿŠšŽžČčĆćŁłŃńŚśŹźŻż',
        'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOoooooUUUUuuuuYyySsZzCcCcLlNnSsZzZz')),
        '[[:space:]]+', ' ', 'g')), '')
{%- endmacro %}

{#- snowflake__normalize_name: Snowflake has no strip_accents and no Unicode normalisation
    function. The fold is TRANSLATE over a table of every precomposed Latin, Greek and Cyrillic
    letter whose canonical decomposition is a base letter plus combining marks (788 letters,
    generated with Python's unicodedata and checked one by one against DuckDB's strip_accents),
    followed by the combining marks U+0300–U+036F, which TRANSLATE deletes (no counterpart in the
    target alphabet). artist_key and song_key therefore come out as on DuckDB. -#}
{% macro snowflake__normalize_name(expr) -%}
    nullif(trim(regexp_replace(lower(translate({{ expr }}, {{ snowflake_accent_fold_from() }}, {{ snowflake_accent_fold_to() }})),
        {{ snowflake_whitespace_regex() }}, ' ')), '')
{%- endmacro %}

{#- The Unicode whitespace class of DuckDB's [\s\pZ]: tab, LF, FF, CR, space and the Unicode space
    separators, in Snowflake's \t / \uXXXX string-literal escapes. Snowflake's REGEXP_REPLACE
    replaces every match (DuckDB needs the 'g' flag for that). -#}
{% macro snowflake_whitespace_regex() -%}
    '[ \t\n\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000]+'
{%- endmacro %}

{% macro snowflake_accent_fold_from() -%}
    ('ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊ' ||
        'ċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚś' ||
        'ŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǦǧǨǩǪ' ||
        'ǫǬǭǮǯǰǴǵǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳΆΈΉΊ' ||
        'ΌΎΏΐΪΫάέήίΰϊϋόύώϓϔЀЁЃЇЌЍЎЙйѐёѓїќѝўѶѷӁӂӐӑӒӓӖӗӚӛӜӝӞӟӢӣӤӥӦӧӪӫӬӭӮӯӰӱ' ||
        'ӲӳӴӵӸӹḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹ' ||
        'ḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹ' ||
        'ṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾ' ||
        'ếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹἀἁἂἃἄ' ||
        'ἅἆἇἈἉἊἋἌἍἎἏἐἑἒἓἔἕἘἙἚἛἜἝἠἡἢἣἤἥἦἧἨἩἪἫἬἭἮἯἰἱἲἳἴἵἶἷἸἹἺἻἼἽἾἿὀὁὂὃὄὅὈὉὊ' ||
        'ὋὌὍὐὑὒὓὔὕὖὗὙὛὝὟὠὡὢὣὤὥὦὧὨὩὪὫὬὭὮὯὰάὲέὴήὶίὸόὺύὼώᾀᾁᾂᾃᾄᾅᾆᾇᾈᾉᾊᾋᾌᾍᾎᾏᾐᾑᾒ' ||
        'ᾓᾔᾕᾖᾗᾘᾙᾚᾛᾜᾝᾞᾟᾠᾡᾢᾣᾤᾥᾦᾧᾨᾩᾪᾫᾬᾭᾮᾯᾰᾱᾲᾳᾴᾶᾷᾸᾹᾺΆᾼῂῃῄῆῇῈΈῊΉῌῐῑῒΐῖῗῘῙῚΊῠῡῢ' ||
        'ΰῤῥῦῧῨῩῪΎῬῲῳῴῶῷῸΌῺΏῼ' ||
        '̴̵̶̷̸̡̢̧̨̛̖̗̘̙̜̝̞̟̠̣̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼̀́̂̃̄̅̆̇̈̉̊̋̌̍̎̏̐̑̒̓̔̽̾̿̕̚' ||
        '͇͈͉͍͎̀́͂̓̈́͆͊͋͌ͅ͏͓͔͕͖͙͚͐͑͒͗͛ͣͤͥͦͧͨͩͪͫͬͭͮͯ͘͜͟͢͝͞͠͡')
{%- endmacro %}

{% macro snowflake_accent_fold_to() -%}
    ('AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcC' ||
        'cCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSs' ||
        'SsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaÆæGgKkO' ||
        'oOoƷʒjGgNnAaÆæØøAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYyΑΕΗΙ' ||
        'ΟΥΩιΙΥαεηιυιυουωϒϒЕЕГІКИУИиеегікиуѴѵЖжАаАаЕеӘәЖжЗзИиИиОоӨөЭэУуУу' ||
        'УуЧчЫыAaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkLlLl' ||
        'LlLlMmMmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtUuUuUuUu' ||
        'UuVvVvWwWwWwWwWwXxXxYyZzZzZzhtwyſAaAaAaAaAaAaAaAaAaAaAaAaEeEeEeE' ||
        'eEeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYyααααα' ||
        'αααΑΑΑΑΑΑΑΑεεεεεεΕΕΕΕΕΕηηηηηηηηΗΗΗΗΗΗΗΗιιιιιιιιΙΙΙΙΙΙΙΙοοοοοοΟΟΟ' ||
        'ΟΟΟυυυυυυυυΥΥΥΥωωωωωωωωΩΩΩΩΩΩΩΩααεεηηιιοουυωωααααααααΑΑΑΑΑΑΑΑηηη' ||
        'ηηηηηΗΗΗΗΗΗΗΗωωωωωωωωΩΩΩΩΩΩΩΩαααααααΑΑΑΑΑηηηηηΕΕΗΗΗιιιιιιΙΙΙΙυυυ' ||
        'υρρυυΥΥΥΥΡωωωωωΟΟΩΩΩ')
{%- endmacro %}



{#- clean_name(expr): a display name tidied, case and accents kept: runs of whitespace (Unicode
    spaces included) collapsed to one space, trimmed; NULL when nothing is left. -#}
{% macro clean_name(expr) -%}
    {{ return(adapter.dispatch('clean_name')(expr)) }}
{%- endmacro %}

{% macro duckdb__clean_name(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, '[\s\pZ]+', ' ', 'g')), '')
{%- endmacro %}

{% macro default__clean_name(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, '[[:space:]]+', ' ', 'g')), '')
{%- endmacro %}

{% macro snowflake__clean_name(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, {{ snowflake_whitespace_regex() }}, ' ')), '')
{%- endmacro %}


{#- split_artists(credits, names): the artists of a track, in credit order. `credits` is the staged
    artist_credits column: the names as split at ingest (src/pipeline/credits.ts), joined by the
    character U+001F. Where it is NULL (rows staged before it existed), `names` (the raw credit) is
    split on ';'. Items are not trimmed here; int_track_artists trims them and drops empty ones. -#}
{% macro split_artists(credits, names) -%}
    {{ return(adapter.dispatch('split_artists')(credits, names)) }}
{%- endmacro %}

{% macro duckdb__split_artists(credits, names) -%}
    coalesce(string_split({{ credits }}, chr(31)), string_split({{ names }}, ';'))
{%- endmacro %}

{% macro default__split_artists(credits, names) -%}
    coalesce(string_to_array({{ credits }}, chr(31)), string_to_array({{ names }}, ';'))
{%- endmacro %}

{#- Snowflake: an ARRAY of VARCHAR values (items are VARIANT inside the array). -#}
{% macro snowflake__split_artists(credits, names) -%}
    coalesce(split({{ credits }}, char(31)), split({{ names }}, ';'))
{%- endmacro %}


{#- safe_cast(expr, data_type): cast, NULL instead of an error when the value does not convert. -#}
{% macro safe_cast(expr, data_type) -%}
    {{ return(adapter.dispatch('safe_cast')(expr, data_type)) }}
{%- endmacro %}

{% macro duckdb__safe_cast(expr, data_type) -%}
    try_cast({{ expr }} as {{ data_type }})
{%- endmacro %}

{% macro default__safe_cast(expr, data_type) -%}
    cast({{ expr }} as {{ data_type }})
{%- endmacro %}

{#- Snowflake's TRY_CAST takes text only: cast to varchar first, so any input type works. -#}
{% macro snowflake__safe_cast(expr, data_type) -%}
    try_cast(cast({{ expr }} as varchar) as {{ data_type }})
{%- endmacro %}


{#- fold_versions(title_key): the song part of a title's normalize_name() key, without the suffixes
    that mark a version of the same song. A suffix is the text after the first " - " (or en/em dash)
    or a trailing (...) / [...] group, and it marks a version when it holds one of the version words
    (remaster, remastered, remasterizado, remix, mix, mixed, edit, live, ao vivo, en vivo, en directo,
    mono, stereo, deluxe, version, versao, acoustic, acustico, instrumental, extended, demo, unplugged,
    bonus track, or a year 1900–2099) as a whole word, or starts with a credit word (feat, ft,
    featuring, with, from). Three passes, so "x (feat. y) - 2011 remaster" and "x - live (remastered)"
    fold too. Words inside a title stay: "live forever", "mix tape". When nothing would be left, the
    key is returned whole. The input is already lowercase, accent-folded and single-spaced, so the
    patterns need no escapes and no case flags, and mean the same to RE2 (DuckDB), PostgreSQL and
    Snowflake; `]` first in a bracket expression is a literal there. The same rules in TypeScript:
    none (the serving side reads song_key from the marts). -#}
{% macro fold_versions(title_key) -%}
    {{ return(adapter.dispatch('fold_versions')(title_key)) }}
{%- endmacro %}

{% macro version_words() -%}
    (remaster|remastered|remasterizado|remasterizada|remix|remixed|mix|mixed|edit|live|ao vivo|en vivo|en directo|mono|stereo|deluxe|version|versao|acoustic|acustico|acustica|instrumental|extended|demo|unplugged|bonus track|19[0-9][0-9]|20[0-9][0-9])
{%- endmacro %}

{% macro version_lead_words() -%}
    (feat|ft|featuring|with|from)
{%- endmacro %}

{#- A trailing bracket group that marks a version, with the spaces before it. -#}
{% macro version_bracket_regex() -%}
    ' *[[(](([^][()]*[^][()a-z0-9])?{{ version_words() }}|{{ version_lead_words() }})([^][()a-z0-9][^][()]*)?[])]$'
{%- endmacro %}

{#- The first dash-separated suffix that marks a version, to the end of the title. -#}
{% macro version_dash_regex() -%}
    ' [-–—] ((.*[^a-z0-9])?{{ version_words() }}|{{ version_lead_words() }})([^a-z0-9].*)?$'
{%- endmacro %}

{#- One pass: a trailing version bracket, then a version dash suffix, removed. -#}
{% macro duckdb__strip_version_suffix(expr) -%}
    regexp_replace(regexp_replace({{ expr }}, {{ version_bracket_regex() }}, ''), {{ version_dash_regex() }}, '')
{%- endmacro %}

{#- PostgreSQL: without the 'g' flag regexp_replace replaces the first match only. -#}
{% macro default__strip_version_suffix(expr) -%}
    regexp_replace(regexp_replace({{ expr }}, {{ version_bracket_regex() }}, ''), {{ version_dash_regex() }}, '')
{%- endmacro %}

{#- Snowflake replaces every match unless told: position 1, occurrence 1. -#}
{% macro snowflake__strip_version_suffix(expr) -%}
    regexp_replace(regexp_replace({{ expr }}, {{ version_bracket_regex() }}, '', 1, 1), {{ version_dash_regex() }}, '', 1, 1)
{%- endmacro %}

{% macro duckdb__fold_versions(title_key) -%}
    coalesce(nullif({{ duckdb__strip_version_suffix(duckdb__strip_version_suffix(duckdb__strip_version_suffix(title_key))) }}, ''), {{ title_key }})
{%- endmacro %}

{% macro default__fold_versions(title_key) -%}
    coalesce(nullif({{ default__strip_version_suffix(default__strip_version_suffix(default__strip_version_suffix(title_key))) }}, ''), {{ title_key }})
{%- endmacro %}

{% macro snowflake__fold_versions(title_key) -%}
    coalesce(nullif({{ snowflake__strip_version_suffix(snowflake__strip_version_suffix(snowflake__strip_version_suffix(title_key))) }}, ''), {{ title_key }})
{%- endmacro %}
