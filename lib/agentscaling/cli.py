"""The `agentscaling` command. Each area registers its own sub-commands (a `register(subparsers)`
function in its `cli` module); bad input exits with status 2 and a one-line error."""

from __future__ import annotations

import argparse
import sys

from .analysis import cli as analysis_cli
from .data import cli as data_cli
from .errors import UserError
from .fit import cli as fit_cli
from .reports import cli as reports_cli
from .sweep import cli as sweep_cli
from .tokenize import cli as tokenize_cli

COMMAND_MODULES = (sweep_cli, analysis_cli, reports_cli, fit_cli, data_cli, tokenize_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentscaling",
        description="Scaling laws for world models and imitation agents: data, sweeps, fits, reports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"agentscaling: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agentscaling: interrupted", file=sys.stderr)
        return 130
