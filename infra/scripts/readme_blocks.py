"""Turns the `sh` blocks of a README into one bash script, printed on standard output, for
infra/check-readme. A block right after a line `<!-- not run: <why> -->` is left out. A command
that prints a status with `-w '%{http_code}\\n'` and is annotated `# NNN` must print NNN.

Usage: readme_blocks.py README.md
"""

import re
import shlex
import sys

BLOCK = re.compile(r"(<!-- not run: [^>]*-->\n)?```sh\n(.*?)```", re.S)
EXPECTED_STATUS = re.compile(r"-w '%\{http_code\}\\n'\s*#\s*(\d{3})\b")
PRELUDE = """set -euo pipefail
expect_status() { local want=$1; shift; local got; got=$(eval "$@"); if [ "$got" != "$want" ]; then echo "README: expected $want, got $got from: $*" >&2; exit 1; fi; echo "$got"; }"""


def script(text: str) -> str:
    lines = [PRELUDE]
    for number, block in enumerate(BLOCK.finditer(text), 1):
        if block.group(1):
            continue
        # Continued lines are one command.
        commands = re.sub(r"\\\n\s*", " ", block.group(2)).splitlines()
        lines.append(f"echo '[readme] block {number}' >&2")
        for command in commands:
            status = EXPECTED_STATUS.search(command)
            if status:
                command = command[: command.rfind("#")].rstrip()
                lines.append(f"expect_status {status.group(1)} {shlex.quote(command)}")
            else:
                lines.append(command)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as readme:
        sys.stdout.write(script(readme.read()))
