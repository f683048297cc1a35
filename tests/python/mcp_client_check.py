"""The server seen by a second, independent MCP client: the official Python SDK (`mcp`, pinned in
python/requirements-dbt.txt).

Connects over stdio (launching the server) or Streamable HTTP (a running server's URL), lists tools,
resources, resource templates and prompts (following cursors), calls every tool with representative
arguments and validates each structuredContent against the tool's outputSchema with jsonschema,
reads every fixed resource, the first listed instances of each template and one instance of each
template built from its URI template, and gets every prompt. Then asks for an artist name that fits two
catalog artists ("skillex": Skillet or Skrillex), answering the server's form with Skrillex. Prints one
JSON summary on stdout; exits 1 with the failures listed when any check fails.

Usage:
  mcp_client_check.py --mode auto|legacy|2026-07-28 --stdio NODE BIN_JS [ENV=VALUE ...]
  mcp_client_check.py --mode auto|legacy|2026-07-28 --http URL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import jsonschema
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters

# Representative arguments per tool, on the TidyTuesday catalog. A tool the server lists that is not
# here fails the check: a new tool must get an entry.
TOOL_ARGS: dict[str, dict[str, Any]] = {
    "recommend_by_genre": {"genre": "latin", "limit": 5, "min_energy": 0.6},
    "similar_tracks": {"seed_artists": ["Queen"], "limit": 5},
    "tracks_by_artist": {"artist": "queen", "limit": 5},
    "artist_metadata": {"artist": "Queen", "max_albums": 3},
    "search_music_knowledge": {"query": "upbeat music to dance to", "limit": 3},
    "sequence_playlist": {
        "tracks": ["Bohemian Rhapsody – Queen", "Bicycle Race – Queen", "Another One Bites The Dust – Queen", "Brighton Rock – Queen"],
        "arc": "rising",
    },
}
PROMPT_ARGS: dict[str, dict[str, str]] = {
    "build_playlist": {"mood": "upbeat", "genre": "latin"},
    "artist_deep_dive": {"artist": "Queen"},
    "compare_genres": {"genre_a": "latin", "genre_b": "rock"},
}
# An artist name as close to Skillet as to Skrillex: the server asks which one (2026-07-28) or names both.
AMBIGUOUS_ARTIST = "skillex"
CHOSEN_ARTIST = "Skrillex"

# Template variable → value; {track_id} comes from a recommend_by_genre answer.
TEMPLATE_VALUES = {"genre": "latin", "artist": "Queen"}


async def paged(fetch, field: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = await fetch(cursor=cursor)
        items.extend(getattr(page, field))
        cursor = page.next_cursor
        if not cursor:
            return items


def first_track_id(value: Any) -> str | None:
    """The first `track_id` string anywhere in a structuredContent."""
    if isinstance(value, dict):
        if isinstance(value.get("track_id"), str):
            return value["track_id"]
        values = list(value.values())
    elif isinstance(value, list):
        values = value
    else:
        return None
    for v in values:
        found = first_track_id(v)
        if found:
            return found
    return None


def text_of(contents: list[Any]) -> str:
    return "".join(getattr(c, "text", "") or "" for c in contents)


async def check(client: Client) -> dict[str, Any]:
    failures: list[str] = []
    summary: dict[str, Any] = {"protocol_version": client.protocol_version, "tools": {}, "resources": {}, "templates": {}, "prompts": {}}

    tools = await paged(client.list_tools, "tools")
    resources = await paged(client.list_resources, "resources")
    templates = await paged(client.list_resource_templates, "resource_templates")
    prompts = await paged(client.list_prompts, "prompts")
    summary["listed"] = {"tools": len(tools), "resources": len(resources), "templates": len(templates), "prompts": len(prompts)}

    track_id = None
    for tool in tools:
        args = TOOL_ARGS.get(tool.name)
        if args is None:
            failures.append(f"tool {tool.name!r} has no representative arguments in mcp_client_check.py")
            continue
        try:
            jsonschema.validate(args, tool.input_schema)
        except jsonschema.ValidationError as err:
            failures.append(f"{tool.name}: the check's own arguments do not match its inputSchema: {err.message}")
            continue
        if tool.output_schema is None:
            failures.append(f"{tool.name}: no outputSchema")
            continue
        result = await client.call_tool(tool.name, args)
        entry: dict[str, Any] = {"is_error": result.is_error}
        if result.is_error:
            failures.append(f"{tool.name}: isError: {text_of(result.content)[:300]}")
        elif result.structured_content is None:
            failures.append(f"{tool.name}: no structuredContent")
        else:
            validator_class = jsonschema.validators.validator_for(tool.output_schema)
            validator_class.check_schema(tool.output_schema)
            errors = sorted(validator_class(tool.output_schema).iter_errors(result.structured_content), key=lambda e: list(e.path))
            entry["schema_errors"] = len(errors)
            for err in errors[:5]:
                failures.append(f"{tool.name}: structuredContent does not match outputSchema at {'/'.join(map(str, err.path)) or '(root)'}: {err.message[:200]}")
            if not text_of(result.content).strip():
                failures.append(f"{tool.name}: no text rendering in content")
            if tool.name == "recommend_by_genre":
                track_id = first_track_id(result.structured_content)
        summary["tools"][tool.name] = entry

    # Every fixed resource, and the first two listed instances of each template (the catalog lists
    # one resource per genre and per artist: thousands).
    prefixes = [t.uri_template.split("{", 1)[0] for t in templates]
    per_prefix: dict[str, int] = {}
    for resource in resources:
        uri = str(resource.uri)
        prefix = next((p for p in prefixes if uri.startswith(p)), None)
        if prefix is not None:
            per_prefix[prefix] = per_prefix.get(prefix, 0) + 1
            if per_prefix[prefix] > 2:
                continue
        read = await client.read_resource(uri)
        size = len(text_of(read.contents))
        summary["resources"][uri] = size
        if size == 0:
            failures.append(f"resource {uri}: empty")

    values = dict(TEMPLATE_VALUES, track_id=track_id or "")
    for template in templates:
        uri = template.uri_template
        for name, value in values.items():
            uri = uri.replace("{" + name + "}", value)
        if "{" in uri or uri.endswith("/"):
            failures.append(f"template {template.uri_template}: no value for its variable (track_id={track_id!r})")
            continue
        read = await client.read_resource(uri)
        size = len(text_of(read.contents))
        summary["templates"][template.uri_template] = {"uri": uri, "chars": size}
        if size == 0:
            failures.append(f"template {template.uri_template}: {uri} read empty")

    for prompt in prompts:
        args = PROMPT_ARGS.get(prompt.name)
        if args is None:
            failures.append(f"prompt {prompt.name!r} has no representative arguments in mcp_client_check.py")
            continue
        required = [a.name for a in prompt.arguments or [] if a.required]
        missing = [a for a in required if a not in args]
        if missing:
            failures.append(f"prompt {prompt.name}: the check passes no {missing}")
            continue
        got = await client.get_prompt(prompt.name, args)
        texts = [getattr(m.content, "text", "") or "" for m in got.messages]
        summary["prompts"][prompt.name] = {"messages": len(got.messages), "chars": sum(map(len, texts))}
        if not got.messages or not any(t.strip() for t in texts):
            failures.append(f"prompt {prompt.name}: no message text")

    forms.clear()
    answer = await client.call_tool("tracks_by_artist", {"artist": AMBIGUOUS_ARTIST, "limit": 1})
    structured = answer.structured_content or {}
    summary["artist_choice"] = {
        "forms": [sorted(o.get("const") for o in f.get("properties", {}).get("artist", {}).get("oneOf", [])) for f in forms],
        "is_error": bool(answer.is_error),
        "artist": (structured.get("artist") or {}).get("name"),
        "how": (structured.get("resolved") or {}).get("how"),
        "text": " ".join(getattr(c, "text", "") or "" for c in answer.content)[:300],
    }

    summary["failures"] = failures
    return summary


# The forms (requested schemas) the server asked this client to fill in, in order.
forms: list[dict[str, Any]] = []


async def choose_artist(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """Answer an artist form with CHOSEN_ARTIST when it is offered, as a person would; decline otherwise."""
    schema = params.requested_schema if hasattr(params, "requested_schema") else {}
    schema = schema if isinstance(schema, dict) else schema.model_dump(by_alias=True, exclude_none=True)
    forms.append(schema)
    offered = [o.get("const") for o in schema.get("properties", {}).get("artist", {}).get("oneOf", [])]
    if CHOSEN_ARTIST in offered:
        return types.ElicitResult(action="accept", content={"artist": CHOSEN_ARTIST})
    return types.ElicitResult(action="decline")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="auto", help="auto (server/discover, falling back to initialize), legacy (initialize handshake) or a revision to pin (2026-07-28)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--http", metavar="URL")
    group.add_argument("--stdio", nargs="+", metavar="ARG", help="NODE BIN_JS [ENV=VALUE ...]")
    opts = parser.parse_args()
    if opts.http:
        server: Any = opts.http
    else:
        command, script, *pairs = opts.stdio
        env = dict(pair.split("=", 1) for pair in pairs)
        server = StdioServerParameters(command=command, args=[script, "--stdio"], env=env)
    async with Client(server, mode=opts.mode, read_timeout_seconds=120, elicitation_callback=choose_artist) as client:
        summary = await check(client)
    summary["mode"] = opts.mode
    summary["transport"] = "http" if opts.http else "stdio"
    print(json.dumps(summary, indent=2))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
