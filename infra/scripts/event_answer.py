"""Checks one answer of `cargo lambda invoke` against its line of infra/events.tsv: exits 0 when
the answer is what KIND and VALUE expect, 1 otherwise (also when it is not JSON).

Usage: event_answer.py KIND VALUE ANSWER
"""

import json
import sys


def matches(kind: str, value: str, answer: str) -> bool:
    try:
        got = json.loads(answer)
    except ValueError:
        return False
    if not isinstance(got, dict):
        return False
    context = got.get("context") or {}
    checks = {
        "status": lambda: got.get("statusCode") == int(value),
        "caller": lambda: got.get("isAuthorized") is True and context.get("userId") == value,
        "failure": lambda: got.get("isAuthorized") is True and context.get("failure") == value,
        "published": lambda: got.get("batchItemFailures") == [],
        "recorded": lambda: got.get("batchItemFailures") == [],
        "mailed": lambda: got.get("sent") == int(value),
    }
    return checks[kind]()


if __name__ == "__main__":
    sys.exit(0 if matches(*sys.argv[1:4]) else 1)
