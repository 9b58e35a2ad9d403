"""``python -m sandbox [--seed demo|empty] [--hubspot-port P] [--sell-port P] [--slack-port P]``."""

from __future__ import annotations

import argparse

from sandbox.limits import SandboxLimits
from sandbox.seed import SEEDS
from sandbox.server import run_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--seed", choices=SEEDS, default="demo")
    parser.add_argument("--hubspot-port", type=int, default=0)
    parser.add_argument("--sell-port", type=int, default=0)
    parser.add_argument("--slack-port", type=int, default=0)
    parser.add_argument("--no-limits", action="store_true", help="do not enforce rate limits")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every rate limit")
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="where HubSpot's webhooks go (default: SANDBOX_WEBHOOK_URL, else "
        "http://127.0.0.1:3000/hubspot/webhooks; off: none)",
    )
    args = parser.parse_args(argv)
    run_forever(
        seed=args.seed,
        hubspot_port=args.hubspot_port,
        sell_port=args.sell_port,
        slack_port=args.slack_port,
        limits=SandboxLimits(enabled=not args.no_limits, scale=args.scale),
        webhook_url=args.webhook_url,
    )


if __name__ == "__main__":
    main()
