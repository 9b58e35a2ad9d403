"""Property tests of what Slack sends back (button values, view metadata) and of the command
line's arguments: no value, however forged, raises; every value the app encodes decodes to itself;
bad command lines end in the usage and a reason, never a traceback."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import action_ids as ids
from bot.cli_args import EXIT_USAGE, build_parser

PROPERTIES = settings(max_examples=300, deadline=None, database=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)
anything = st.one_of(
    json_values,
    st.text(max_size=60),
    st.builds(lambda p, t: f"{p}{t}", st.sampled_from(["req:", "page:", "conflict:"]), st.text()),
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: f"conflict:{n}:{n}"),
    st.sampled_from(["req:²", "page:٣", "conflict:1²:0", "req:1\n", f"req:{2**63}", "page:"]),
    json_values.map(json.dumps),
)


@PROPERTIES
@given(anything)
@example("req:²")
@example("req:1\n")
@example("page:٣")
def test_button_values_never_raise_and_decode_to_small_ascii_ids(value: object) -> None:
    for decoded in (ids.decode_request(value), ids.decode_page(value)):
        assert decoded is None or (isinstance(decoded, int) and 0 <= decoded < 10**12)
    ref = ids.decode_conflict(value)
    assert ref is None or (0 <= ref.conflict_id < 10**12 and 0 <= ref.offset < 10**12)
    if isinstance(value, str) and not value.isascii():
        assert ids.decode_request(value) is None and ids.decode_page(value) is None


@PROPERTIES
@given(
    st.integers(min_value=0, max_value=10**12 - 1), st.integers(min_value=0, max_value=10**12 - 1)
)
def test_every_encoded_button_value_decodes_to_itself(a: int, b: int) -> None:
    assert ids.decode_request(ids.encode_request(a)) == a
    assert ids.decode_page(ids.encode_page(b)) == b
    assert ids.decode_conflict(ids.encode_conflict(a, b)) == ids.ConflictRef(a, b)


@PROPERTIES
@given(
    anything | st.dictionaries(st.sampled_from(["v", "s", "c", "t"]), json_values).map(json.dumps)
)
@example(json.dumps({"v": 1, "s": "message", "c": "C1>|<!channel", "t": "1.2"}))
def test_view_metadata_never_raises_and_never_carries_markup(text: object) -> None:
    origin = ids.decode_push_origin(text)
    assert origin.source in ("global", "message")
    for part in (origin.channel, origin.message_ts):
        assert part is None or (part.isascii() and part.replace(".", "").isalnum())


@PROPERTIES
@given(
    st.sampled_from(["global", "message"]),
    st.one_of(st.none(), st.from_regex(r"[CDG][A-Z0-9]{1,12}", fullmatch=True)),
    st.one_of(st.none(), st.from_regex(r"[0-9]{10}\.[0-9]{6}", fullmatch=True)),
)
def test_view_metadata_round_trips(source: str, channel: str | None, ts: str | None) -> None:
    origin = ids.PushOrigin(source, channel, ts)  # type: ignore[arg-type]
    assert ids.decode_push_origin(ids.encode_push_origin(origin)) == origin


# --------------------------------------------------------------------------- the command line

_CLI_WORDS = [
    "sync",
    "push",
    "status",
    "conflicts",
    "fields",
    "restore",
    "db",
    "upgrade",
    "serve",
    "worker",
    "sandbox",
    "demo",
    "--dry-run",
    "--full",
    "--json",
    "map",
    "--seed",
    "--hubspot-port",
    "--sell-port",
    "--slack-port",
    "--no-scheduler",
    "lead:²",
    "contact:99999999999999999999",
    "²",
    "-1",
    "65536",
    "8101",
    "--",
    "-",
]
cli_words = st.one_of(st.sampled_from(_CLI_WORDS), st.text(max_size=12))


@PROPERTIES
@given(st.lists(cli_words, max_size=6))
@example(["sandbox", "--hubspot-port", "²"])
@example(["sandbox", "--sell-port", str(2**70)])
@example(["sandbox", "--slack-port", "-5"])
@example(["status", "lead:²"])
def test_cli_arguments_parse_or_end_in_the_usage_and_a_reason(argv: list[str]) -> None:
    stderr = io.StringIO()
    try:
        with redirect_stderr(stderr), redirect_stdout(io.StringIO()):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        err = stderr.getvalue()
        if exc.code == 0:  # --help
            return
        assert exc.code == EXIT_USAGE
        assert err.startswith("usage: sellsync") and "\nsellsync: " in err  # usage, reason
        assert "Traceback" not in err
        return
    assert isinstance(args, argparse.Namespace) and args.command
    if args.command == "sandbox":
        for port in (args.hubspot_port, args.sell_port, args.slack_port):
            assert 1 <= port <= 65535
