"""What every command line shares: argument checks and the exit codes of a failure.

Exit code 2: bad usage (a flag value that cannot work); 1: bad data (a file that is corrupt or
does not fit, a failed run). Either way one line on stderr, `error: ...`, naming the value or
file and the fix; never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

USAGE, DATA = 2, 1


class UsageError(ValueError):
    """A flag value that cannot work; the message names the flag, the value and what is allowed."""


def fail(message: str, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def run_step(command: list[str], what: str, **popen_kwargs) -> None:
    """Run one of a benchmark's child commands; if it fails (it printed its own error), stop
    with one line naming `what` failed and its exit code (exit 1), never a traceback."""
    import subprocess

    code = subprocess.run(command, **popen_kwargs).returncode
    if code != 0:
        fail(f"{what} failed (exit code {code}); its own message is above", DATA)


def require(ok: bool, message: str) -> None:
    """Raise UsageError(message) unless `ok`."""
    if not ok:
        raise UsageError(message)


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = _int_at_least(1)
"""argparse type: an int >= 1."""
nonnegative_int = _int_at_least(0)
"""argparse type: an int >= 0."""


def _float_above(minimum: float, inclusive: bool):
    bound = f"{'>=' if inclusive else '>'} {minimum:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}") from None
        if not (math.isfinite(value) and (value >= minimum if inclusive else value > minimum)):
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value

    return parse


positive_float = _float_above(0.0, inclusive=False)
"""argparse type: a finite float > 0."""
nonnegative_float = _float_above(0.0, inclusive=True)
"""argparse type: a finite float >= 0."""
