"""A whole information plane by binning: 274 epochs × 6 layers, I(X;T) and I(T;Y).

Issue 2, section 5: the 3288 estimates of the 12-bit task (4096 samples, layers of
10, 7, 5, 4, 3 and 2 units) in ≤ 5 s on this 2-core machine, through the public
``estimate_mi`` exactly as a user would call it. The peer is plain numpy in the style of
the original information-bottleneck code (np.digitize, np.unique over void rows), given
the advantage of grouping X once per plane. Both must give the same numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from _peers import digitize_fixed_range, floor_width, plane_point, row_labels

from mi_toolkit import estimate_mi
from mi_toolkit.result import MIToolkitWarning

GOAL_S = 5.0

# name -> (estimate_mi parameters, the peer's binning of the same policy)
POLICIES: dict[str, tuple[dict[str, float], Callable[[np.ndarray], np.ndarray]]] = {
    "fixed_range 29 bins on [-1,1]": ({}, digitize_fixed_range),
    "bin_width 0.07": ({"bin_width": 0.07}, lambda t: floor_width(t, 0.07)),
}


def toolkit_plane(plane, params: dict[str, float]) -> np.ndarray:
    """(epochs, layers, 2) array of I(X;T) and I(T;Y) in nats via ``estimate_mi``."""
    out = np.empty((len(plane.activations), len(plane.activations[0]), 2))
    with warnings.catch_warnings():
        # Early, wide layers sit at the log N ceiling; the plane's user expects that.
        warnings.simplefilter("ignore", MIToolkitWarning)
        for epoch, layers in enumerate(plane.activations):
            for layer, t in enumerate(layers):
                out[epoch, layer, 0] = estimate_mi(plane.inputs, t, method="binning", **params)
                out[epoch, layer, 1] = estimate_mi(t, plane.labels, method="binning", **params)
    return out


def numpy_plane(plane, binner: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The same plane with the numpy peer."""
    x_labels = row_labels(plane.inputs)
    out = np.empty((len(plane.activations), len(plane.activations[0]), 2))
    for epoch, layers in enumerate(plane.activations):
        for layer, t in enumerate(layers):
            out[epoch, layer] = plane_point(x_labels, binner(t), plane.labels)
    return out


@pytest.mark.parametrize("policy", list(POLICIES))
def test_plane_toolkit(measure, plane, policy: str) -> None:
    params, _ = POLICIES[policy]
    assert plane.n_estimates == 3288
    result = measure(
        lambda: toolkit_plane(plane, params),
        group=f"binning plane ({policy})",
        role="mi-toolkit",
        rounds=3,
        goal_s=GOAL_S,
    )
    # The plane must move: deeper layers and later epochs lose information about X.
    assert result[0, 0, 0] > result[-1, -1, 0] > 0.0


@pytest.mark.parametrize("policy", list(POLICIES))
def test_plane_numpy_peer(measure, plane, policy: str) -> None:
    _, binner = POLICIES[policy]
    measure(
        lambda: numpy_plane(plane, binner),
        group=f"binning plane ({policy})",
        role="numpy peer (digitize+unique)",
        rounds=2,
    )
