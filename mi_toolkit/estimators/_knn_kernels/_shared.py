"""What more than one engine needs: the radius test and the size that pays for threads.

``within_radius`` is the one place that decides whether a computed distance (or a
lower bound on one) is inside a radius, strictly or not, so that a sample at exactly the
radius is in or out the same way in every engine. It is a numba kernel called from
kernels in other files: numba's cache does not notice edits to it there (see the
package docstring), so clear the caches after changing it.
"""

from __future__ import annotations

from numba import njit

# Below this many samples the serial kernels and single-threaded trees are faster: waking
# the thread pool costs milliseconds, more than a small search or count itself.
PARALLEL_MIN = 20_000


@njit(cache=True)
def within_radius(distance, radius, inclusive):
    return distance <= radius if inclusive else distance < radius
