"""The `agentscaling` command. Each area registers its own sub-commands (a `register(subparsers)`
function in its `cli` module); bad input exits with status 2 and a one-line error."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError

# Modules that contribute sub-commands; each defines register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = (
    "agentscaling.sweep_cli",
    "agentscaling.fit.cli",
    "agentscaling.data.cli",
    "agentscaling.tokenize.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentscaling",
        description="Scaling laws for world models and imitation agents: data, sweeps, fits, reports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # an area not built yet
            if e.name and name.startswith(e.name):
                continue
            raise
        module.register(sub)
    return parser


class _Parser(argparse.ArgumentParser):
    pass


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
