"""The examples in the front door's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import warnings

import pytest

import mi_toolkit.api
import mi_toolkit.neurons
import mi_toolkit.phases
import mi_toolkit.uncertainty


@pytest.mark.parametrize(
    "module", [mi_toolkit.api, mi_toolkit.uncertainty, mi_toolkit.phases, mi_toolkit.neurons]
)
def test_docstring_examples(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0
