"""`mailwarden train`, `mailwarden eval`, `mailwarden models list | promote | rollback`.

Registered on the main group by `mailwarden.cli`; everything heavy (numpy, LightGBM, MLflow,
matplotlib) is imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

DEFAULT_REGISTRY = Path("out/models")
registry_option = click.option(
    "--registry",
    "registry_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REGISTRY,
    show_default=True,
    help="Local model registry (versions, champion, MLflow store under mlruns/).",
)


class ModelProblem(click.ClickException):
    exit_code = 2


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from mailwarden.models.bundle import ModelError
    from mailwarden.models.frame import DatasetError
    from mailwarden.training.dataset import MissingDependency
    from mailwarden.training.schema import FeatureSchemaMismatch

    try:
        return fn(*args, **kwargs)
    except (ModelError, DatasetError, MissingDependency, FeatureSchemaMismatch) as exc:
        raise ModelProblem(str(exc)) from exc


def _require_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError as exc:
        raise ModelProblem("models need numpy: pip install 'mailwarden[train]'") from exc


@click.command("train")
@click.argument("dataset", type=click.Path(dir_okay=False, path_type=Path))
@registry_option
@click.option("--no-text", is_flag=True, help="Trees over the signals only, no text model.")
@click.option(
    "--exclude",
    multiple=True,
    help="Signal-name prefix the trees may not read (repeatable), e.g. message.auth.",
)
@click.option("--promote/--no-promote", default=None, help="Make it champion (default: if none).")
@click.option("--no-mlflow", is_flag=True, help="Do not log the run to MLflow.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--seed", type=int, default=11, show_default=True)
@click.option(
    "--hold-out-source",
    "hold_out",
    multiple=True,
    help="Hold out this whole source (repeatable): train without it, test on all of it. An "
    "experiment (never promoted unless --promote); evaluate it with the same option.",
)
@click.option(
    "--export",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also copy the model's runtime files here (src/mailwarden/models/default for the "
    "packaged model).",
)
def train(
    dataset: Path,
    registry_dir: Path,
    no_text: bool,
    exclude: tuple[str, ...],
    promote: bool | None,
    no_mlflow: bool,
    bootstrap: int,
    seed: int,
    hold_out: tuple[str, ...],
    export: Path | None,
) -> None:
    """Train trees + text model on DATASET's train split (build it with `mailwarden dataset
    build`), evaluate on its held-out test split, and add the model to the registry."""
    _require_numpy()
    from mailwarden.models.pipeline import train_and_register
    from mailwarden.models.report import headline_lines
    from mailwarden.models.train import TrainConfig

    err = _err()
    config = TrainConfig(text=not no_text, exclude=exclude, seed=seed)
    result = _guard(
        train_and_register, dataset, registry_dir, config, promote=promote,
        mlflow=not no_mlflow, boot=bootstrap, export=export, log=err.print, hold_out=hold_out,
    )  # fmt: skip
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"model {result['version']} -> {result['path']}")
    for system in result["report"]["systems"]:
        out.print("\n".join(headline_lines(system)))
    out.print(f"report: {Path(result['path']) / 'eval' / 'eval.md'}")
    if result["promoted"]:
        out.print(f"promoted {result['version']} to champion")


@click.command("eval")
@click.argument("dataset", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model",
    "champion",
    default=None,
    help="Champion: a model directory, a registry (its champion), 'default' (the packaged "
    "model) or 'rules'. Default: the --registry champion, else 'default'.",
)
@click.option(
    "--challenger",
    default="rules",
    show_default=True,
    help="Challenger, same forms as --model; 'none' for no comparison.",
)
@registry_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/eval"),
    show_default=True,
    help="Where eval.json / eval.md / eval.html and the PNG curves go.",
)
@click.option("--target-precision", type=click.FloatRange(0, 1), default=0.99, show_default=True)
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option(
    "--hold-out-source",
    "hold_out",
    multiple=True,
    help="Test on these whole sources (repeatable), as a model trained with the same option.",
)
def evaluate(
    dataset: Path,
    champion: str | None,
    challenger: str,
    registry_dir: Path,
    out_dir: Path,
    target_precision: float,
    bootstrap: int,
    hold_out: tuple[str, ...],
) -> None:
    """Evaluate a model (and a challenger) on DATASET's held-out test split: per source and
    category precision / recall / FNR / FPR, PR and ROC curves, the threshold for a target
    precision, a confusion matrix, false positives and misses with their top signals, and
    champion vs challenger with bootstrap confidence intervals."""
    _require_numpy()
    from mailwarden.models.pipeline import run_eval
    from mailwarden.models.registry import REGISTRY_FILE
    from mailwarden.models.report import headline_lines, pct

    if champion is None:
        champion = str(registry_dir) if (registry_dir / REGISTRY_FILE).is_file() else "default"
    other = None if challenger == "none" else challenger
    report = _guard(
        run_eval, dataset, champion, other, out_dir, target_precision, bootstrap,
        log=_err().print, hold_out=hold_out,
    )  # fmt: skip
    out = Console(highlight=False, soft_wrap=True)
    for system in report["systems"]:
        out.print("\n".join(headline_lines(system)))
    if report.get("comparison"):
        c = report["comparison"]
        for metric in ("recall", "fpr"):
            m = c[metric]
            lo, hi = m["difference_ci95"]
            out.print(
                f"{metric}: champion {pct(m['champion'], 3)}, challenger "
                f"{pct(m['challenger'], 3)}, difference 95% CI [{100 * lo:.3f}, {100 * hi:.3f}] pts"
            )
    out.print(f"report: {out_dir / 'eval.md'} (and eval.html, eval.json, PNG curves)")


@click.group("models")
def models() -> None:
    """The local model registry: list versions, promote one to champion, roll back."""


@models.command("list")
@registry_option
def models_list(registry_dir: Path) -> None:
    from mailwarden.models.registry import Registry

    registry = Registry(registry_dir)
    data = _guard(registry.read)
    if not data["versions"]:
        Console().print(f"no models in {registry_dir} (mailwarden train DATASET)")
        return
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"  {'version':<21} {'name':<21} {'created':<26} headline recall / FPR")
    for v in data["versions"]:
        m = v.get("metrics", {})
        recall = f"{100 * m['headline_recall']:.2f}%" if "headline_recall" in m else "-"
        fpr = f"{100 * m['headline_fpr']:.3f}%" if "headline_fpr" in m else "-"
        mark = "*" if v["version"] == data.get("champion") else " "
        out.print(
            f"{mark} {v['version']:<21} {v.get('name', ''):<21} {v.get('created', ''):<26} "
            f"{recall} / {fpr}"
        )
    out.print("(* champion)")


@models.command("promote")
@click.argument("version")
@registry_option
def models_promote(version: str, registry_dir: Path) -> None:
    from mailwarden.models.registry import Registry

    _guard(Registry(registry_dir).promote, version)
    Console().print(f"champion: {version}")


@models.command("rollback")
@registry_option
def models_rollback(registry_dir: Path) -> None:
    from mailwarden.models.registry import Registry

    version = _guard(Registry(registry_dir).rollback)
    Console().print(f"rolled back; champion: {version}")


COMMANDS = (train, evaluate, models)
