"""S1: does a HubSpot contact qualify to enter Sell?"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sync.domain import is_empty


def parse_score(raw: object) -> Decimal | None:
    """A score as a number; None when blank or not a number (it then never qualifies)."""
    if is_empty(raw) or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class Qualification:
    qualifies: bool
    reason: str
    score: Decimal | None = None


def qualify(score_raw: object, *, in_list: bool, threshold: int) -> Qualification:
    """S1: a member of the synced list whose numeric score is >= the threshold."""
    score = parse_score(score_raw)
    if not in_list:
        return Qualification(False, "not a member of the synced HubSpot list", score)
    if score is None:
        if is_empty(score_raw):
            return Qualification(False, "has no score", None)
        return Qualification(False, f"score {str(score_raw).strip()!r} is not a number", None)
    shown = _fmt(score)
    if score < threshold:
        return Qualification(False, f"score {shown} is below the threshold {threshold}", score)
    return Qualification(True, f"score {shown} meets the threshold {threshold}", score)


def _fmt(score: Decimal) -> str:
    return str(score.quantize(Decimal(1))) if score == score.to_integral_value() else str(score)
