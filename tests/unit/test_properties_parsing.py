"""Property tests of everything that reads what people type: the ``/sellsync`` command, push items
(the modal, a message, the CLI's), Sell URLs and ids. Whatever the text, nothing raises, and every
refusal carries a one-line reason (and, for a command, the usage to show with it)."""

from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import parsing as p
from bot.blocks.common import MAX_MESSAGE_BLOCKS, invalid_input
from sync.domain import SellRef
from sync.push import MAX_ITEMS, MAX_SELL_ID, parse_id, parse_items, parse_sell_url

PROPERTIES = settings(max_examples=300, deadline=None, database=None)

# Characters that matter to the parsers, mixed with anything at all.
_TRICKY = (
    string.ascii_letters
    + string.digits
    + " \t\n:;,.@<>|&/#?'\"“”‘’„-_+*`~!²³¹½٣७𝟘"
    + "\u00a0\u2028\u200b"
)
tricky_text = st.text(alphabet=_TRICKY, max_size=80) | st.text(max_size=80)

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["²", "٣", "७", "𝟘", "1²", "½", "0", "00", "9" * 19, "9" * 30]),
    st.just(str(2**63)),
    st.just(str(2**63 - 1)),
)

words = st.one_of(
    tricky_text,
    numbers,
    numbers.map(lambda n: f"lead:{n}"),
    numbers.map(lambda n: f"contact:{n}"),
    numbers.map(lambda n: f"hubspot:{n}"),
    numbers.map(lambda n: f"https://app.futuresimple.com/crm/leads/{n}"),
    numbers.map(lambda n: f"https://app.hubspot.com/contacts/4242/record/0-1/{n}"),
    st.emails(),
    tricky_text.map(lambda t: f"tag:{t}"),
    tricky_text.map(lambda t: f"<https://{t}|{t}>"),
    tricky_text.map(lambda t: f"<mailto:{t}>"),
)

commands = st.one_of(
    tricky_text,
    st.tuples(
        st.sampled_from([*p.SUBCOMMANDS, "HELP", "nope", "fields map", "-h"]),
        st.lists(words, max_size=5),
    ).map(lambda c: " ".join([c[0], *c[1]])),
)


def _one_line(reason: str) -> bool:
    return bool(reason.strip()) and "\n" not in reason


@PROPERTIES
@given(commands)
@example("conflicts ²")
@example(f"conflicts {2**63}")
@example(f"status lead:{2**63}")
@example("status hubspot:²")
@example(f"restore contact:{2**64}")
@example("list ٣")
@example("push lead:²")
def test_parse_command_never_raises_and_every_refusal_has_a_reason_and_the_usage(
    text: str,
) -> None:
    command = p.parse_command(text)
    if isinstance(command, p.Invalid):
        assert _one_line(command.reason), command
        assert command.usage.strip()
        message = invalid_input(command.reason, command.usage).to_dict()
        assert 0 < len(message["blocks"]) <= MAX_MESSAGE_BLOCKS
        assert "Usage:" in str(message)
    elif isinstance(command, p.Conflicts):
        assert 1 <= command.page <= 100_000
    elif isinstance(command, p.Push):
        assert 0 < len(command.items) <= MAX_ITEMS
        assert not parse_items(command.items).invalid
    elif isinstance(command, p.RequestList):
        assert command.list_id.isascii() and command.list_id.isdigit()
    elif isinstance(command, p.Status | p.Restore) and command.item is not None:
        item = command.item
        if item.lower().startswith("hubspot:"):
            assert parse_id(item[8:]) is not None
        else:
            assert not parse_items([item]).invalid


@PROPERTIES
@given(st.lists(words, max_size=8))
def test_parse_items_never_raises_and_gives_every_refused_item_a_reason(items: list[str]) -> None:
    parsed = parse_items(items)
    for skip in parsed.invalid:
        assert _one_line(skip.reason) and skip.item in items
    for ref in parsed.refs:
        assert 1 <= ref.id <= MAX_SELL_ID
    for email in parsed.emails:
        assert email.count("@") == 1 and email == email.lower()
    non_empty = [i for i in items if i.strip().strip(",;")]
    assert bool(non_empty) == bool(parsed.refs or parsed.emails or parsed.tags or parsed.invalid)


@PROPERTIES
@given(tricky_text, st.one_of(st.none(), tricky_text))
def test_the_push_modal_never_raises_and_a_refusal_says_why(text: str, tag: str | None) -> None:
    check = p.parse_item_text(text, tag)
    if not check.ok:
        assert _one_line(str(check.error))
    else:
        assert check.items and not parse_items(check.items).invalid


@PROPERTIES
@given(st.lists(words, max_size=10).map(" ".join) | st.text(max_size=300))
def test_extract_items_finds_only_items_a_push_accepts(message: str) -> None:
    found = p.extract_items(message)
    assert len(found) <= MAX_ITEMS and len(set(found)) == len(found)
    if found:
        parsed = parse_items(found)
        assert not parsed.invalid and len(parsed.refs) + len(parsed.emails) == len(found)


@PROPERTIES
@given(numbers | tricky_text)
def test_parse_id_takes_ascii_whole_numbers_from_1_to_2_63_minus_1_only(text: str) -> None:
    value = parse_id(text)
    if value is not None:
        assert 1 <= value <= MAX_SELL_ID
        assert text.strip().isascii() and int(text.strip()) == value


@PROPERTIES
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_parse_id_accepts_exactly_the_ids_in_range(n: int) -> None:
    assert parse_id(str(n)) == (n if 1 <= n <= MAX_SELL_ID else None)


_SELL_HOSTS = ["app.futuresimple.com", "app.getbase.com", "acme.zendesk.com"]


@PROPERTIES
@given(
    st.sampled_from(["https", "http", "HTTPS", "ftp"]),
    st.one_of(st.sampled_from(_SELL_HOSTS), st.text(max_size=30), st.from_regex(r"[a-z.]{1,20}")),
    st.lists(tricky_text, max_size=5).map("/".join),
)
def test_parse_sell_url_never_raises_and_only_sells_own_hosts_name_a_record(
    scheme: str, host: str, path: str
) -> None:
    result = parse_sell_url(f"{scheme}://{host}/{path}")
    if isinstance(result, SellRef):
        assert host.lower() in _SELL_HOSTS and 1 <= result.id <= MAX_SELL_ID
    else:
        assert _one_line(result)


@PROPERTIES
@given(
    st.sampled_from(
        [
            "https://app.hubspot.com/contacts/{portal}/record/0-1/{id}",
            "https://app.hubspot.com/contacts/{portal}/contact/{id}",
            "https://example.com/leads/{id}",
            "https://evil.app.futuresimple.com.example/leads/{id}",
            "https://app.futuresimple.com@evil.example/leads/{id}",
            "https://acme.zendesk.com/agent/contacts/{id}",
            "https://a.b.zendesk.com/sales/contacts/{id}",
            "https://app.futuresimple.com:8443/leads/{id}",
        ]
    ),
    st.integers(min_value=1, max_value=MAX_SELL_ID),
    st.integers(min_value=1, max_value=10**9),
)
def test_links_that_are_not_sells_own_are_refused_with_a_reason(
    form: str, rid: int, portal: int
) -> None:
    url = form.format(id=rid, portal=portal)
    (skip,) = parse_items([url]).invalid
    assert "not a Sell record URL" in skip.reason
    assert p.extract_items(f"see {url} and <{url}|this>") == []


@PROPERTIES
@given(
    st.sampled_from(
        [
            ("https://app.futuresimple.com/leads/{id}", "lead"),
            ("https://app.futuresimple.com/sales/contacts/{id}", "contact"),
            ("https://app.getbase.com/crm/contacts/{id}", "contact"),
            ("https://APP.FUTURESIMPLE.COM/crm/leads/{id}/notes?tab=1#x", "lead"),
            ("https://acme.zendesk.com/sales/leads/{id}", "lead"),
            ("<https://acme.zendesk.com/sales/contacts/{id}|Jane>", "contact"),
        ]
    ),
    st.integers(min_value=1, max_value=MAX_SELL_ID),
)
def test_sells_own_url_forms_name_their_record(form: tuple[str, str], rid: int) -> None:
    url, kind = form[0].format(id=rid), form[1]
    assert parse_items([url]).refs == (SellRef(kind, rid),)  # type: ignore[arg-type]
    assert p.extract_items(f"please add {url}.") == [f"{kind}:{rid}"]
