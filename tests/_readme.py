"""The README's shell examples, as tests/test_make_run.py runs them against the local run (issue 13).

A fenced block whose info string is `sh`, `bash` or `shell` is an example a reader runs; the comment
`<!-- readme-test: skip <reason> -->` as the last non-blank line before its fence leaves it out (a block that starts
the suite itself, or needs a cluster or a tool `make setup` does not install), and must state the reason. What a
block's `# → …` comments show as JSON (`"state": "failed"`, `"file_matches": true`) must appear in what it prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})
MARKER = re.compile(r"<!--\s*readme-test:\s*(?P<directive>\S+)\s*(?P<reason>.*?)\s*-->")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
# `"key": value` in a `# → …` comment: a quoted string (`…` stands for anything) or a JSON literal.
SHOWN = re.compile(r'"(?P<key>[^"]+)":\s*(?P<value>"[^"]*"|true|false|null|-?\d+(?:\.\d+)?)')
BLOCK_START = "::readme-block"


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # the stated reason, for a block not run

    def expected(self) -> list[re.Pattern[str]]:
        """What this block's `# → …` comments show, as patterns to find in its output (JSON with or without spaces)."""
        found = []
        for comment in re.findall(r"#\s*→(.*)$", self.code, flags=re.MULTILINE):
            for shown in SHOWN.finditer(comment):
                value = re.escape(shown["value"]).replace("…", '[^"]*')
                found.append(re.compile(re.escape(f'"{shown["key"]}"') + r"\s*:\s*" + value))
        return found


def shell_blocks(readme: Path) -> list[Block]:
    """Every shell block of `readme`, in order, with the reason it is skipped where a marker gives one."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith(opening["fence"]):
            end += 1
        if opening["info"].lower() in SHELL_LANGUAGES:
            blocks.append(Block(index + 1, "\n".join(lines[index + 1 : end]) + "\n", _skip_reason(lines, index)))
        index = end + 1
    return blocks


def _skip_reason(lines: list[str], fence: int) -> str | None:
    before = next((line for line in reversed(lines[:fence]) if line.strip()), "")
    marker = MARKER.search(before)
    if marker is None:
        return None
    if marker["directive"] != "skip" or not marker["reason"]:
        raise ValueError(f"README line {fence}: write <!-- readme-test: skip <the reason> -->, not {marker[0]!r}")
    return marker["reason"]


def script(blocks: list[Block]) -> str:
    """One bash script running the blocks not skipped in order, in one shell (a block uses what the ones before it
    set, as a reader's terminal would), stopping at the first command that fails; each block's output starts with
    a `::readme-block <line>` line, on stdout and stderr."""
    parts = ["set -eo pipefail"]
    for block in blocks:
        if block.skip is None:
            # On a line of its own, whether or not the block before ended its output with a newline.
            parts.append(f"printf '\\n{BLOCK_START} {block.line}\\n'; printf '\\n{BLOCK_START} {block.line}\\n' >&2")
            parts.append(block.code)
    return "\n".join(parts) + "\n"


def outputs(text: str) -> dict[int, str]:
    """What each block printed, by the line of its fence, from the output of `script`."""
    found: dict[int, str] = {}
    current: int | None = None
    for line in text.splitlines(keepends=True):
        if line.startswith(BLOCK_START):
            current = int(line.split()[1])
            found[current] = ""
        elif current is not None:
            found[current] += line
    return found
