"""The isolate-the-bad-input batch algorithm on plain values: no HTTP, no HubSpot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sync.clients.isolate import BatchRefused, isolate


class Server:
    """Accepts a batch only when it holds no bad input; says which ones when ``names``."""

    def __init__(self, bad: set[str], *, names: bool) -> None:
        self.bad = bad
        self.names = names
        self.sent: list[list[str]] = []

    def send(self, batch: list[str]) -> Mapping[str, str] | BatchRefused[list[str]]:
        self.sent.append(list(batch))
        blamed = [item for item in batch if item in self.bad]
        if blamed:
            return BatchRefused(blamed if self.names else [])
        return {item: "ok" for item in batch}


def run(batch: Sequence[str], server: Server) -> dict[str, str]:
    return isolate(
        batch,
        server.send,
        key=lambda item: item,
        culprits=lambda pending, named: [item for item in pending if item in named],
        failure=lambda item, named: "failed",
    )


def test_an_accepted_batch_is_sent_once() -> None:
    server = Server(set(), names=True)
    assert run(["a", "b", "c"], server) == {"a": "ok", "b": "ok", "c": "ok"}
    assert server.sent == [["a", "b", "c"]]


def test_named_culprits_fail_and_the_rest_is_sent_again() -> None:
    server = Server({"b", "d"}, names=True)
    results = run(["a", "b", "c", "d"], server)
    assert results == {"a": "ok", "b": "failed", "c": "ok", "d": "failed"}
    assert server.sent == [["a", "b", "c", "d"], ["a", "c"]]


def test_without_names_the_batch_is_halved_until_the_bad_input_is_alone() -> None:
    items = [f"i{n}" for n in range(16)]
    server = Server({"i11"}, names=False)
    results = run(items, server)
    assert results == {item: ("failed" if item == "i11" else "ok") for item in items}
    # one bad input in 16 costs the first try plus two requests per level (4 levels)
    assert len(server.sent) == 1 + 2 * 4
    assert ["i11"] in server.sent


def test_a_refused_batch_of_one_is_that_inputs_failure_without_asking_culprits() -> None:
    asked: list[object] = []
    results = isolate(
        ["only"],
        lambda batch: BatchRefused("no"),
        key=lambda item: item,
        culprits=lambda pending, reason: asked.append(reason) or [],
        failure=lambda item, reason: f"{item}: {reason}",
    )
    assert results == {"only": "only: no"}
    assert asked == []


def test_every_bad_input_is_found_and_every_good_one_written() -> None:
    items = [f"i{n}" for n in range(37)]
    bad = {"i0", "i5", "i6", "i36"}
    server = Server(bad, names=False)
    results = run(items, server)
    assert {k for k, v in results.items() if v == "failed"} == bad
    assert {k for k, v in results.items() if v == "ok"} == set(items) - bad


def test_an_empty_batch_sends_nothing() -> None:
    server = Server(set(), names=True)
    assert run([], server) == {}
    assert server.sent == []
