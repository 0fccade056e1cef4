"""Every ``tradegraph`` command in docs/RUNBOOK.md and docs/SCALING.md is a real command of this repository:
its subcommands exist (``--help`` answers) and each option it uses is one of that subcommand's options.
The docker/ service names the runbook uses exist in docker/compose.yaml."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
import yaml

from trading_assets.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("docs/RUNBOOK.md", "docs/SCALING.md")
# A command in code: `tradegraph` after a line start or a space, then a lower-case word (its subcommand).
_COMMAND = re.compile(r"(?:^|\s)(tradegraph\s+[a-z][^`\n|;&)]*)")
_INLINE = re.compile(r"`([^`\n]+)`")


def code(text: str) -> list[str]:
    """The code of a Markdown text: each line of its fenced blocks (continuations joined, comments
    dropped) and each inline code span of its prose."""
    found, fenced = [], False
    for line in text.replace("\\\n", " ").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            found.append(re.sub(r"(^|\s)#.*$", "", line))
        else:
            found.extend(_INLINE.findall(line))
    return found


def commands(path: str) -> list[str]:
    """Every ``tradegraph SUBCOMMAND ...`` of the document's code."""
    return [match.strip() for piece in code((ROOT / path).read_text()) for match in _COMMAND.findall(piece)]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def check(command: str) -> list[str]:
    """What is wrong with ``command`` (empty: it is a real command with real options)."""
    words = shlex.split(command)[1:]
    parser, path = build_parser(), ["tradegraph"]
    problems = []
    while words and not words[0].startswith("-") and _subparsers(parser):
        name = words.pop(0)
        subs = _subparsers(parser)
        if name not in subs:
            # A positional argument such as `risk reset` is fine where the parser takes it.
            break
        parser, path = subs[name], [*path, name]
    if len(path) == 1 or _subparsers(parser):
        problems.append(f"{command!r}: no complete subcommand (stopped at {' '.join(path)})")
        return problems
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as exited:
        parser.parse_args(["--help"])
    if exited.value.code != 0:
        problems.append(f"{' '.join(path)} --help exited {exited.value.code}")
    known = _options(parser)
    for word in words:
        if word == "--" and path[-1] == "up":
            known = _options(_subparsers(build_parser())["run"])  # after --: options of `tradegraph run`
            continue
        option = word.split("=", 1)[0]
        if option.startswith("-") and option not in known and not option.lstrip("-").isdigit():
            problems.append(f"{command!r}: {' '.join(path)} has no option {option}")
    return problems


@pytest.mark.parametrize("path", DOCS)
def test_every_tradegraph_command_of_the_document_exists_with_its_options(path: str) -> None:
    found = commands(path)

    assert found, f"{path}: no tradegraph command found"
    assert [problem for command in found for problem in check(command)] == []


def test_the_checker_finds_a_made_up_subcommand_and_option() -> None:
    assert check("tradegraph risk reset --who a --why b") == []
    assert check("tradegraph up -- --rate 500") == []
    assert check("tradegraph rewind --day 2025-01-01")
    assert check("tradegraph load --batch-size 5")


def test_the_runbook_restarts_and_execs_only_services_of_the_compose_file() -> None:
    services = set(yaml.safe_load((ROOT / "docker/compose.yaml").read_text())["services"])
    text = (ROOT / "docs/RUNBOOK.md").read_text()

    named = re.findall(
        r"compose(?: -f \S+ --env-file \S+)? (?:restart|exec|ps|logs(?: --tail \d+)?) ([a-z][a-z-]+)", text
    )

    assert named, "the runbook names no compose service"
    assert sorted(set(named) - services) == []
