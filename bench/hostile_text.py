"""How long reading hostile text takes: the message shortcut (``extract_items``), the push modal
(``parse_item_text``) and ``/sellsync push`` (``parse_command``), on message shapes that make a
backtracking pattern quadratic. Linear time shows as a ratio near 4 between 100k and 25k
characters (a quadratic one shows near 16).

    python bench/hostile_text.py [--sizes 25000 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import parsing as p

SHAPES: dict[str, Callable[[int], str]] = {
    "one long word": lambda n: "a" * n,
    "unclosed <mailto: links": lambda n: ("<mailto:x" * n)[:n],
    "unclosed <https: links": lambda n: ("<https://a" * n)[:n],
    "distinct bare links": lambda n: "".join(f"https://a{i}.example/p " for i in range(n))[:n],
    "at signs": lambda n: ("a@" * n)[:n],
    "a dotted domain": lambda n: ("a@" + "b." * n)[:n],
    "dots between @s": lambda n: "a@" + "." * (n - 3) + "@",
    "open quotes": lambda n: ('"a ' * n)[:n],
    "distinct emails": lambda n: "".join(f"u{i}@example.com " for i in range(n))[:n],
}

READERS: dict[str, Callable[[str], object]] = {
    "shortcut": p.extract_items,
    "modal": p.parse_item_text,
    "command": lambda text: p.parse_command("push " + text),
}


def best_ms(fn: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[25_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    small, big = args.sizes
    print(f"| shape | reader | {small:,} chars ms | {big:,} chars ms | ratio |")
    print("|---|---|---|---|---|")
    for shape, make in SHAPES.items():
        texts = make(small), make(big)
        for name, read in READERS.items():
            t_small, t_big = (best_ms(lambda t=t, r=read: r(t), args.runs) for t in texts)
            ratio = t_big / t_small if t_small > 0 else float("nan")
            print(f"| {shape} | {name} | {t_small:.1f} | {t_big:.1f} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
