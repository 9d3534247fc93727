"""``NAME=VALUE`` estimator parameters as the command line takes them.

One parser for ``mi-toolkit plane --param`` and the method specs of ``mi-toolkit bench
accuracy`` (``ksg:k=10``), so a value is read the same way wherever it is typed.
"""

from __future__ import annotations

import argparse
import ast
from typing import Any


def parse_parameter(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` with VALUE read as a Python literal.

    ``k=5`` is the int 5, ``noise_variance=1e-3`` the float 0.001, ``value_range=(-2,2)``
    a tuple; a bare word (``bound=lower``) is a string. A quoted number (``k='5'``) is
    refused, so that a number always reaches the estimator as a number.
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE, e.g. noise_variance=1e-3; got {text!r}"
        )
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name, value.strip()  # a bare word such as bound=lower
    if isinstance(parsed, str) and _is_number(parsed):
        raise argparse.ArgumentTypeError(
            f"{name}={value} is a quoted number; write {name}={parsed.strip()} to pass a number"
        )
    return name, parsed


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
