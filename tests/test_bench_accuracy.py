"""``mi-toolkit bench accuracy``: the runner, resume, Dask, the scores and the report."""

from __future__ import annotations

import csv
import json
import math
import sys
import types

import pytest

import mi_toolkit.benchmarking.accuracy as accuracy
from mi_toolkit import estimate_mi
from mi_toolkit.benchmarking import (
    AccuracyRun,
    MethodSpec,
    markdown_report,
    parse_integers,
    parse_methods,
    run_accuracy,
    score_methods,
    score_tasks,
    select_tasks,
)
from mi_toolkit.benchmarking.report import is_solved
from mi_toolkit.cli import main
from mi_toolkit.synthetic import get_task

# Two continuous tasks and one that every continuous method refuses (both sides bits).
TASKS = ("gaussian-1d-rho0.9", "gaussian-3x3", "channel-bsc-p0.1")
GRID = AccuracyRun(
    tasks=TASKS,
    sizes=(300,),
    seeds=(0, 1),
    methods=(MethodSpec("gaussian"), MethodSpec("ksg", (("k", 5),))),
)


def _without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _read(path):
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def no_estimates(monkeypatch):
    """Fail the test if any unit of work starts (for errors that must come first)."""

    def refuse(unit):
        raise AssertionError("a cell was computed before the arguments were checked")

    monkeypatch.setattr(accuracy, "compute_unit", refuse)


# -- parsing --------------------------------------------------------------------------


def test_method_specs_with_parameters():
    specs = parse_methods("ksg:k=10,transform=none,kl,binning:value_range=(-2, 2),n_bins=30")
    assert [s.label for s in specs] == [
        "ksg:k=10,transform=none",
        "kl",
        "binning:n_bins=30,value_range=(-2, 2)",
    ]
    assert dict(specs[0].params) == {"k": 10, "transform": "none"}
    assert dict(specs[2].params)["value_range"] == (-2, 2)
    # The label reads back to the same spec.
    assert parse_methods(specs[2].label) == [specs[2]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k=3,ksg", "parameter 'k=3' comes before any method"),
        ("ksg,,kl", "an empty method name"),
        ("ksg:k='5'", "k='5' is a quoted number"),
        ("ksg:k=3,k=4", "ksg is given 'k' twice"),
    ],
)
def test_method_spec_syntax_errors(text, message):
    with pytest.raises(ValueError, match="--methods") as error:
        parse_methods(text)
    assert message in str(error.value)


def test_integer_lists():
    assert parse_integers("0-2,7,1", "--seeds") == [0, 1, 2, 7]
    assert parse_integers("1000,5000", "--n", minimum=1) == [1000, 5000]
    for bad, message in (("3-1", "runs backwards"), ("a", "expected integers"), ("0", "1 or more")):
        with pytest.raises(ValueError, match=message):
            parse_integers(bad, "--n", minimum=1)


def test_task_selection():
    assert select_tasks("quick")[:2] == ["gaussian-1d-rho0.9", "gaussian-3x3"]
    assert select_tasks(None, ["uniform-noise-*"]) == [
        "uniform-noise-eps0.1",
        "uniform-noise-eps0.5",
        "uniform-noise-eps0.75",
        "uniform-noise-eps2",
    ]
    assert select_tasks("quick", ["uniform-noise-*"]) == ["uniform-noise-eps0.1"]
    with pytest.raises(ValueError, match="no task in suite 'quick' matches 'gaussian-3x3x'"):
        select_tasks("quick", ["gaussian-3x3x"])
    with pytest.raises(ValueError, match=r"unknown suite 'quik'; valid suites: quick, full"):
        select_tasks("quik")


# -- end to end -----------------------------------------------------------------------


def test_a_tiny_suite_end_to_end_in_two_processes(tmp_path, capsys):
    output = tmp_path / "bench"
    words = ["bench", "accuracy", "--tasks", ",".join(TASKS), "--methods", "gaussian,ksg:k=5"]
    words += ["--n", "300", "--seeds", "0-1", "--jobs", "2", "--output", str(output), "--quiet"]
    assert main(words) == 0
    rows = _read(output / "results.csv")
    assert len(rows) == 3 * 2 * 2
    assert set(rows[0]) == set(accuracy.COLUMNS)
    # Each estimate is the one estimate_mi gives on the task's sample with that seed.
    for row in rows:
        task = get_task(row["task"])
        assert float(row["true_mi"]) == task.mutual_information
        if row["task"] == "channel-bsc-p0.1":  # both sides discrete: a failed run, kept
            assert math.isnan(float(row["estimate"]))
            assert row["error"].startswith("ValueError: method")
            continue
        x, y = task.sample(300, int(row["seed"]))
        method, _, k = row["method"].partition(":k=")
        params = {"k": int(k)} if k else {}
        assert float(row["estimate"]) == estimate_mi(x, y, method, **params).value
        assert row["error"] == ""
        assert float(row["seconds"]) > 0
    report = (output / "report.md").read_text()
    assert "| gaussian | 300 | 2/3 | 2/3 | " in report
    assert "| ksg:k=5 | 300 | " in report and "| 2/6 (1 task with no result) |" in report
    assert "| channel-bsc-p0.1 | 1×1 | 0.368 | failed 2/2 | failed 2/2 |" in report
    assert "## Failed runs" in report
    out = capsys.readouterr().out
    assert out.startswith("| method | n | solved (×1.5)")
    pytest.importorskip("matplotlib")
    for name in ("ratio_heatmap.png", "error_vs_n.png", "estimate_vs_truth.png"):
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_the_report_is_the_mean_over_seeds(tmp_path):
    rows = run_accuracy(GRID, tmp_path / "bench")
    assert [(r["task"], int(r["n"]), int(r["seed"]), r["method"]) for r in rows] == (
        GRID.cell_keys()
    )
    gaussian = [float(r["estimate"]) for r in rows if r["method"] == "gaussian"][:4]
    lines = markdown_report(rows).splitlines()
    line = next(text for text in lines if text.startswith("| gaussian-3x3 |"))
    assert f"| {(gaussian[2] + gaussian[3]) / 2:.3f}" in line


# -- scores on hand-made results ------------------------------------------------------


def _row(task, truth, estimate, method="m", seed=0, error="", n=100):
    return {
        "task": task,
        "family": "f",
        "dim_x": "1",
        "dim_y": "1",
        "true_mi": repr(truth),
        "n": str(n),
        "seed": str(seed),
        "method": method,
        "estimate": repr(estimate),
        "error": error,
    }


def test_the_factor_rule_at_its_boundaries():
    assert is_solved(1.5, 1.0) is True  # 1.5 × truth: on the boundary, solved
    assert is_solved(1.5000001, 1.0) is False
    assert is_solved(1.0, 1.5) is True  # truth / 1.5
    assert is_solved(0.9999999, 1.5) is False
    assert is_solved(-0.5, 1.0) is False  # a negative mean is never within a factor
    assert is_solved(0.0, 1.0) is False
    assert is_solved(math.nan, 1.0) is False  # every run failed
    assert is_solved(0.01, 0.0) is None  # no ratio for truth 0: not scored


def test_neural_runs_below_zero_or_a_tenth_of_the_best_seed_failed():
    # Beyond Normal's convergence rule for trained estimators; other methods keep theirs.
    rows = [
        _row("a", 1.0, 1.0, method="mine:batch_size=128", seed=0),
        _row("a", 1.0, 0.8, method="mine:batch_size=128", seed=1),
        _row("a", 1.0, 0.09, method="mine:batch_size=128", seed=2),  # < 10% of 1.0
        _row("a", 1.0, -0.2, method="mine:batch_size=128", seed=3),  # below 0
        _row("a", 1.0, 0.1, method="mine:batch_size=128", seed=4),  # exactly 10%: kept
        _row("a", 1.0, 0.09, method="ksg", seed=0),
        _row("a", 1.0, -0.2, method="ksg", seed=1),
    ]
    scores = {s.method: s for s in score_tasks(rows)}
    neural = scores["mine:batch_size=128"]
    assert (neural.runs, neural.failed_runs) == (5, 2)
    assert neural.mean == pytest.approx((1.0 + 0.8 + 0.1) / 3)
    assert any("10% of the best seed" in e for e in neural.errors)
    assert any("below 0" in e for e in neural.errors)
    assert scores["ksg"].failed_runs == 0


def test_scores_count_failures_and_leave_them_out_of_the_mean():
    rows = [
        # solved at the boundary: mean (1.0 + 2.0) / 2 = 1.5; the failed runs are left out
        _row("a", 1.0, 1.0, seed=0),
        _row("a", 1.0, 2.0, seed=1),
        _row("a", 1.0, math.nan, seed=2, error="ValueError: refused"),
        _row("a", 1.0, math.inf, seed=3),  # non-finite without an error: failed too
        # within 0.1 nats but not counted as solved or unsolved: truth 0
        _row("b", 0.0, 0.05),
        # negative mean: not solved, error 1.2
        _row("c", 0.2, -1.0),
        # every run failed
        _row("d", 1.0, math.nan, error="failed: did not converge"),
    ]
    tasks = {s.task: s for s in score_tasks(rows)}
    assert tasks["a"].mean == 1.5 and tasks["a"].failed_runs == 2 and tasks["a"].runs == 4
    assert tasks["a"].solved is True
    assert tasks["b"].solved is None
    assert tasks["c"].solved is False
    assert math.isnan(tasks["d"].mean) and tasks["d"].solved is False
    (summary,) = score_methods(list(tasks.values()))
    assert (summary.tasks, summary.scored_tasks, summary.solved) == (4, 3, 1)
    assert summary.within_tolerance == 1  # b only: a is 0.5 off, c 1.2
    assert summary.mean_absolute_error == pytest.approx((0.5 + 0.05 + 1.2) / 3)
    assert (summary.runs, summary.failed_runs, summary.failed_tasks) == (7, 3, 1)
    report = markdown_report(rows)
    assert "| m | 100 | 1/3 | 1/4 | 0.583 | 3/7 (1 task with no result) |" in report
    assert "| a | 1×1 | 1.000 | 1.500 ✓ (2/4 failed) |" in report
    assert "| d | 1×1 | 1.000 | failed 1/1 |" in report
    assert "- d, m, n = 100: 1/1 failed: failed: did not converge" in report


# -- resume ---------------------------------------------------------------------------


class Killed(Exception):
    pass


def test_a_killed_run_resumes_to_the_same_table(tmp_path, monkeypatch):
    fresh = run_accuracy(GRID, tmp_path / "fresh")
    units_done = []

    def kill_after_two_units(rows):
        units_done.append(rows)
        if len(units_done) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_accuracy(GRID, tmp_path / "killed", on_rows=kill_after_two_units)
    saved = _read(tmp_path / "killed" / "results.csv")
    assert len(saved) == 2 * len(GRID.methods)  # two units, each row on disk
    # A row cut short by the kill is dropped and computed again.
    with open(tmp_path / "killed" / "results.csv", "a", encoding="utf-8") as stream:
        stream.write("gaussian-3x3,gaussian,3,3,1.07")
    computed = []
    original = accuracy.compute_unit
    monkeypatch.setattr(
        accuracy, "compute_unit", lambda unit: computed.append(unit) or original(unit)
    )
    resumed = run_accuracy(GRID, tmp_path / "killed")
    assert sum(len(unit.methods) for unit in computed) == len(GRID.cell_keys()) - len(saved)
    assert _without_seconds(resumed) == _without_seconds(fresh)
    assert markdown_report(resumed) == markdown_report(fresh)
    # Finished: nothing is computed again.
    computed.clear()
    run_accuracy(GRID, tmp_path / "killed")
    assert computed == []


def test_resume_adds_seeds_but_refuses_other_settings(tmp_path, monkeypatch):
    run_accuracy(GRID, tmp_path / "bench")
    more = AccuracyRun(GRID.tasks, GRID.sizes, (0, 1, 2), GRID.methods)
    computed = []
    original = accuracy.compute_unit
    monkeypatch.setattr(
        accuracy, "compute_unit", lambda unit: computed.append(unit) or original(unit)
    )
    rows = run_accuracy(more, tmp_path / "bench")
    assert {unit.seed for unit in computed} == {2} and len(rows) == 18
    settings_path = tmp_path / "bench" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["methods"]["ksg:k=5"] = settings["methods"]["ksg:k=5"].replace('"k": 5', '"k": 4')
    settings_path.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match=r"ran ksg:k=5 with the parameters .*--overwrite"):
        run_accuracy(GRID, tmp_path / "bench")
    computed.clear()
    rows = run_accuracy(GRID, tmp_path / "bench", overwrite=True)
    assert len(computed) == 6 and len(_read(tmp_path / "bench" / "results.csv")) == 12


# -- Dask -----------------------------------------------------------------------------


def test_dask_gives_the_table_of_the_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    local = run_accuracy(GRID, tmp_path / "local")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        remote = run_accuracy(GRID, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert _without_seconds(remote) == _without_seconds(local)
    assert (tmp_path / "dask" / "results.csv").exists()


def test_dask_missing_is_a_clear_error(tmp_path, monkeypatch, no_estimates):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ValueError, match=r"needs Dask: pip install 'mi-toolkit\[dask\]'"):
        run_accuracy(GRID, tmp_path, scheduler="tcp://127.0.0.1:1")


# -- the command line: errors before any work, Ctrl-C, the speed sub-command ----------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--suite", "beyond-normall"], "unknown suite 'beyond-normall'; valid suites: quick"),
        (["--tasks", "gaussian-1d"], "--tasks: no task in the registry matches 'gaussian-1d'"),
        (["--methods", "ksg,copula"], "--methods copula: unknown method 'copula'; valid methods"),
        (["--methods", "ksg:kk=3"], "unknown parameter(s) 'kk' for method 'ksg'"),
        (["--methods", "ksg:k=0"], "--methods ksg:k=0: k must be a positive integer"),
        (["--methods", "ksg,ksg:k=3"], "ksg and ksg:k=3 are the same estimator"),
        (["--n", "1"], "--n 1: method 'ksg' needs at least"),
        (["--seeds", "-1"], "--seeds '-1': expected integers"),
        (["--jobs", "0"], "--jobs must be a positive integer; got 0"),
        (["--output", "{tmp}/missing/bench"], "the folder {tmp}/missing does not exist"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_any_work(
    tmp_path, capsys, no_estimates, extra, message
):
    words = ["bench", "accuracy", "--tasks", "gaussian-1d-rho0.9", "--output", str(tmp_path / "b")]
    words += [word.replace("{tmp}", str(tmp_path)) for word in extra]
    assert main([*words, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mi-toolkit bench: error: ") and err.count("\n") == 1, err
    assert message.replace("{tmp}", str(tmp_path)) in err


def test_ctrl_c_says_what_is_saved(tmp_path, capsys, monkeypatch):
    original = accuracy.compute_unit
    calls = []

    def interrupt_second(unit):
        calls.append(unit)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(unit)

    monkeypatch.setattr(accuracy, "compute_unit", interrupt_second)
    words = ["bench", "accuracy", "--tasks", "gaussian-1d-rho0.9,gaussian-3x3"]
    words += ["--methods", "gaussian", "--n", "200", "--seeds", "0", "--jobs", "1"]
    assert main([*words, "--output", str(tmp_path / "b"), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted; 1 finished cells are saved in" in err
    assert "Run the same command again" in err


def test_speed_is_loaded_only_when_chosen(monkeypatch, capsys):
    seen = {}
    fake = types.ModuleType("mi_toolkit.benchmarking.speed")
    fake.add_arguments = lambda parser: parser.add_argument("--max-n", type=int, default=10)
    fake.run = lambda args: seen.setdefault("max_n", args.max_n) and 0
    monkeypatch.setitem(sys.modules, "mi_toolkit.benchmarking.speed", fake)
    assert main(["bench", "speed", "--max-n", "1000"]) == 0
    assert seen == {"max_n": 1000}
    # Choosing accuracy does not import the speed module.
    monkeypatch.setitem(sys.modules, "mi_toolkit.benchmarking.speed", None)
    with pytest.raises(SystemExit) as exit_code:
        main(["bench", "accuracy", "--help"])
    assert exit_code.value.code == 0
    assert "(default: ksg,kl,gaussian)" in capsys.readouterr().out
