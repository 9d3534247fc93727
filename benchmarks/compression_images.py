"""The compression estimator on the images tasks: autoencoder, PCA and MINE with a conv critic.

Butakov et al.'s (ICLR 2024) images with known MI: 16×16 and 32×32 Gaussian blobs (2
latent parameters) and 32×32 rectangles (4), n = 5,000, at true 0, 1, 2.5, 5, 7.5 and 10
nats (the ``images-*`` tasks of ``mi_toolkit.synthetic`` hold 1, 5 and 10; the others are
built from the same samplers). Each cell appends one row to a CSV (estimate, standard
error, CPU and wall seconds), so an interrupted run resumes; ``--report`` writes the table
(markdown) and the plot (PNG) from the CSV.

Usage::

    .venv/bin/python benchmarks/compression_images.py --methods autoencoder,pca \
        --csv benchmarks/results/compression.csv
    .venv/bin/python benchmarks/compression_images.py --methods mine --csv ...
    .venv/bin/python benchmarks/compression_images.py --report --csv ... \
        --markdown benchmarks/results/compression.md --plot benchmarks/results/compression.png
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
from pathlib import Path

import numpy as np

from mi_toolkit import estimate_mi
from mi_toolkit.estimators import Compression, FittedCompressor, fit_compressor
from mi_toolkit.synthetic.images import GaussianBlobImages, RectangleImages

TRUTHS = (0.0, 1.0, 2.5, 5.0, 7.5, 10.0)
#: name: (sampler class, width, latent dimension = code dimension)
FAMILIES = {
    "blobs16": (GaussianBlobImages, 16, 2),
    "blobs32": (GaussianBlobImages, 32, 2),
    "rectangles32": (RectangleImages, 32, 4),
}
COLUMNS = (
    "family",
    "truth",
    "seed",
    "method",
    "estimate",
    "standard_error",
    "cpu_s",
    "fit_s",
    "wall_s",
)
#: Where fitted autoencoders are kept between runs.
COMPRESSORS = Path("/tmp/mi-toolkit-compression-bench")
#: Settings of the autoencoder other than its defaults (``--autoencoder``).
AUTOENCODER: dict[str, object] = {}
#: Settings of the estimate on the codes (``--estimator``), e.g. ``shuffle_correction``.
ESTIMATOR: dict[str, object] = {}


def parse_settings(text: str) -> dict[str, object]:
    """``"code_activation=linear,prior_weight=1"`` as a dict of numbers and strings."""
    settings: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        try:
            settings[name] = int(value)
        except ValueError:
            try:
                settings[name] = float(value)
            except ValueError:
                settings[name] = value
    return settings


def conv_critic(width: int):
    """A critic f(x, y) for MINE: a small conv net per image, an MLP on both features."""
    import torch
    from torch import nn

    def features() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(16 * (width // 4) ** 2, 64),
            nn.LeakyReLU(0.2),
        )

    class Critic(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f, self.g = features(), features()
            self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 1))

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            both = torch.cat([self.f(x[:, None]), self.g(y[:, None])], dim=1)
            return self.head(both).squeeze(-1)

    torch.manual_seed(0)
    return Critic()


def settings_tag(code_dim: int) -> str:
    """A short hash of every default that shapes an autoencoder fit, so that compressors
    fitted under older defaults are not reused after the defaults change."""
    settings = Compression(compressor="autoencoder", code_dim=code_dim, **AUTOENCODER)
    key = repr(settings._settings_key("autoencoder", code_dim))
    return hashlib.blake2b(key.encode(), digest_size=4).hexdigest()


def fitted_autoencoders(x: np.ndarray, y: np.ndarray, code_dim: int, key: str, folder: Path):
    """Each side's autoencoder, fitted once and kept in ``folder`` (so a rerun that changes
    only the inner estimator does not train again), and the seconds spent fitting."""
    fitted, seconds = [], 0.0
    for side, data in (("x", x), ("y", y)):
        path = folder / f"{key}-{settings_tag(code_dim)}-{side}.npz"
        if path.exists():
            compressor = FittedCompressor.load(path)
        else:
            compressor = fit_compressor(
                data, "autoencoder", code_dim, progress=False, **AUTOENCODER
            )
            folder.mkdir(parents=True, exist_ok=True)
            compressor.save(path)
        fitted.append(compressor)
        seconds += compressor.config["seconds"]
    return tuple(fitted), seconds


def estimate(method: str, x: np.ndarray, y: np.ndarray, code_dim: int, width: int, key: str):
    """The estimate, and the seconds of fitting done earlier to be counted in its cost."""
    if method == "autoencoder":
        (fx, fy), seconds = fitted_autoencoders(x, y, code_dim, key, COMPRESSORS)
        return estimate_mi(x, y, "compression", compressor=(fx, fy), **ESTIMATOR), seconds
    if method == "pca":
        pca = estimate_mi(x, y, "compression", compressor="pca", code_dim=code_dim, **ESTIMATOR)
        return pca, 0.0
    if method == "mine":
        return estimate_mi(x, y, "mine", critic=conv_critic(width), progress=False), 0.0
    raise ValueError(f"unknown method {method!r}")


def done(path: Path) -> set[tuple[str, str, str, str]]:
    if not path.exists():
        return set()
    with path.open() as file:
        return {(r["family"], r["truth"], r["seed"], r["method"]) for r in csv.DictReader(file)}


def run(
    methods: list[str],
    families: list[str],
    seeds: list[int],
    n: int,
    path: Path,
    truths: list[float],
) -> None:
    finished = done(path)
    new = not path.exists()
    with path.open("a", newline="") as file:
        writer = csv.DictWriter(file, COLUMNS)
        if new:
            writer.writeheader()
        for truth in truths:
            for family in families:
                sampler_class, width, code_dim = FAMILIES[family]
                for seed in seeds:
                    x, y = sampler_class(truth, width).sample(n, np.random.default_rng(seed))
                    x, y = x.reshape(n, width, width), y.reshape(n, width, width)
                    for method in methods:
                        if (family, f"{truth:g}", str(seed), method) in finished:
                            continue
                        wall, cpu = time.perf_counter(), time.process_time()
                        key = f"{family}-{truth:g}-{seed}-{n}"
                        result, fit_s = estimate(method, x, y, code_dim, width, key)
                        row = {
                            "family": family,
                            "truth": f"{truth:g}",
                            "seed": seed,
                            "method": method,
                            "estimate": f"{result.value:.4f}",
                            "standard_error": f"{result.standard_error or 0.0:.4f}",
                            "cpu_s": f"{time.process_time() - cpu:.1f}",
                            "fit_s": f"{fit_s:.1f}",
                            "wall_s": f"{time.perf_counter() - wall:.1f}",
                        }
                        writer.writerow(row)
                        file.flush()
                        print(row, _facts(result), flush=True)


def _facts(result) -> str:
    """What the notes need besides the row: each side's unexplained variance and epochs
    (best/run), the estimate before the shuffle correction, and the corrected estimate
    with only the first half of the shuffles (the same permutations, so it shows what
    fewer shuffles would have given)."""
    parts = []
    for side in ("x", "y"):
        facts = result.details.get(side, {}) if result.details else {}
        if "unexplained_variance" in facts:
            training = facts.get("training", {})
            parts.append(
                f"{side}: unexplained {facts['unexplained_variance']:.3f}"
                + (f", epochs {training['best_epoch']}/{training['epochs']}" if training else "")
            )
    shuffled = result.components.get("I(shuffled)")
    if shuffled is not None:
        nulls = np.asarray(result.details["shuffled_estimates"])
        plain = result.value + shuffled
        half = nulls[: max(2, nulls.size // 2)]
        parts.append(
            f"before correction {plain:.4f}, shuffles' mean {shuffled:.4f} SD "
            f"{nulls.std(ddof=1):.3f}; with the first {half.size}: {plain - half.mean():.4f}"
        )
    return "; ".join(parts)


def report(paths: list[Path], markdown: Path, plot: Path) -> None:
    rows = []
    for path in paths:
        with path.open() as file:
            rows += list(csv.DictReader(file))
    methods = [m for m in ("autoencoder", "pca", "mine") if any(r["method"] == m for r in rows)]
    lines = [
        "| images | truth | " + " | ".join(methods) + " |",
        "|---|---:|" + "---:|" * len(methods),
    ]
    for family in FAMILIES:
        for truth in TRUTHS:
            cells = []
            for method in methods:
                found = [
                    r
                    for r in rows
                    if (r["family"], float(r["truth"]), r["method"]) == (family, truth, method)
                ]
                cells.append(
                    " / ".join(
                        f"{float(r['estimate']):.2f} ± {float(r['standard_error']):.2f} "
                        f"({float(r['cpu_s']):.0f} s)"
                        for r in found
                    )
                    or "—"
                )
            if any(c != "—" for c in cells):
                lines.append(f"| {family} | {truth:g} | " + " | ".join(cells) + " |")
    markdown.write_text("\n".join(lines) + "\n" + _notes(markdown))
    _plot(rows, methods, plot)


#: Everything from this line on in the markdown is hand-written and kept by ``--report``.
NOTES_MARKER = "<!-- notes: kept by --report -->"


def _notes(markdown: Path) -> str:
    """The hand-written notes at the end of the existing markdown, marker included."""
    if not markdown.exists():
        return ""
    text = markdown.read_text()
    start = text.find(NOTES_MARKER)
    return "" if start < 0 else "\n" + text[start:]


def _plot(rows: list[dict], methods: list[str], plot: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(FAMILIES), figsize=(10, 3.4), sharey=True)
    for axis, family in zip(axes, FAMILIES, strict=True):
        axis.plot([0, 10], [0, 10], color="grey", lw=0.8, ls="--", label="truth")
        for method, marker in zip(methods, "osd", strict=False):
            found = [r for r in rows if (r["family"], r["method"]) == (family, method)]
            if not found:
                continue
            axis.errorbar(
                [float(r["truth"]) for r in found],
                [float(r["estimate"]) for r in found],
                yerr=[2 * float(r["standard_error"]) for r in found],
                marker=marker,
                ms=4,
                lw=0,
                elinewidth=1,
                label=method,
            )
        axis.set_title(family)
        axis.set_xlabel("true I(X;Y), nats")
    axes[0].set_ylabel("estimate, nats (± 2 SE)")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(plot, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default="autoencoder,pca")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--truths", default=",".join(f"{t:g}" for t in TRUTHS))
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument(
        "--csv", type=Path, nargs="+", default=[Path("benchmarks/results/compression.csv")]
    )
    parser.add_argument(
        "--autoencoder",
        default="",
        help="autoencoder settings other than the defaults, e.g. "
        "'code_activation=linear,prior_weight=1' (fits are kept per settings)",
    )
    parser.add_argument(
        "--estimator",
        default="",
        help="settings of the estimate on the codes, e.g. 'shuffle_correction=10'",
    )
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--markdown", type=Path, default=Path("benchmarks/results/compression.md"))
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/results/compression.png"))
    args = parser.parse_args()
    if args.report:
        report(args.csv, args.markdown, args.plot)
        return
    AUTOENCODER.update(parse_settings(args.autoencoder))
    ESTIMATOR.update(parse_settings(args.estimator))
    args.csv[0].parent.mkdir(parents=True, exist_ok=True)
    run(
        args.methods.split(","),
        args.families.split(","),
        [int(s) for s in args.seeds.split(",")],
        args.n,
        args.csv[0],
        [float(t) for t in args.truths.split(",")],
    )


if __name__ == "__main__":
    main()
