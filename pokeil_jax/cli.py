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


def require(ok: bool, message: str) -> None:
    """Raise UsageError(message) unless `ok`."""
    if not ok:
        raise UsageError(message)


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value
