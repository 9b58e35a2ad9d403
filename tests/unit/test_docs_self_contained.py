"""The README, docs/ and every help text stand on their own: they cite no document outside the
repository (the product spec, the style guide, their sections), and every rule label they use
(S1…S14, L1…L5) is defined in docs/rules.md, which they link to."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from bot.blocks.help import help_message
from bot.cli_args import build_parser

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\bSPEC\b|\bSTYLE\b|STYLE\.md|§|shared/|\.\./shared")
LABEL = re.compile(r"\b([SL]\d{1,2})\b")


def _docs() -> dict[str, str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in paths}


def _helps() -> dict[str, str]:
    parser = build_parser()
    texts = {"sellsync --help": parser.format_help()}
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        texts[f"sellsync {name} --help"] = command.format_help()
    texts["/sellsync help"] = json.dumps(help_message().to_dict(), ensure_ascii=False)
    return texts


def test_no_readme_doc_or_help_text_cites_the_spec_or_the_style_guide() -> None:
    for where, text in {**_docs(), **_helps()}.items():
        cited = sorted(set(OUTSIDE.findall(text)))
        assert not cited, f"{where} cites {cited}"


def test_every_rule_label_used_is_defined_in_docs_rules() -> None:
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    defined = set(re.findall(r'<a id="([sl]\d{1,2})"></a>\*\*([SL]\d{1,2}) ', rules))
    assert {label for _, label in defined} == {f"S{i}" for i in range(1, 15)} | {
        f"L{i}" for i in range(1, 6)
    }
    assert all(anchor == label.lower() for anchor, label in defined)
    labels = {label for _, label in defined}
    for where, text in {**_docs(), **_helps()}.items():
        used = set(LABEL.findall(text)) - labels
        assert not used, f"{where} uses {sorted(used)}, which docs/rules.md does not define"


def test_the_readme_and_the_help_point_to_docs_rules() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/rules.md)" in readme
    assert "docs/rules.md" in build_parser().format_help()
    for target in re.findall(r"\]\(((?:docs/)?[\w.-]+\.md)(?:#[\w-]+)?\)", readme):
        assert (ROOT / target).exists(), target


def test_docs_rules_explains_the_threshold_table_and_the_conflicts_of_one_merge() -> None:
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for column in ("**threshold**", "**qualify**", "**enter Sell**"):
        assert column in rules
    assert "Why one HubSpot merge can open several conflicts" in rules
    assert "one per field" in rules


@pytest.mark.parametrize("argv", [["--help"], ["push", "--help"]])
def test_help_output_itself_is_clean(argv: list[str]) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    assert not OUTSIDE.search(out.getvalue())
