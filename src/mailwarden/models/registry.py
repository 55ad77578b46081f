"""A local model registry: versions on disk, one champion, promote and roll back.

    registry/
      registry.json          {"champion": VERSION, "versions": [...], "history": [...]}
      versions/<VERSION>/    a model directory (manifest.json, model.npz, reports)

`mailwarden train` adds a version; `mailwarden models promote VERSION` makes it the champion
(the model `Engine(model="registry/")` loads); `rollback` returns to the previous champion.
Every change is appended to ``history`` (who was champion, when, by which action) and the file
is replaced atomically. When MLflow is installed, training also logs a run (parameters,
metrics, artifacts) to a local store and registers the version there, and promote / rollback
move MLflow's ``champion`` alias too; the registry file stays the source of truth, so nothing
depends on MLflow being present.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailwarden.models.bundle import MANIFEST, ModelError, read_manifest

REGISTRY_FILE = "registry.json"
MLFLOW_MODEL_NAME = "mailwarden"


class RegistryError(ModelError):
    pass


def resolve_model_dir(path: Path) -> Path:
    """A model directory as given, or a registry's champion."""
    if (path / MANIFEST).is_file() or not (path / REGISTRY_FILE).is_file():
        return path
    return Registry(path).champion_dir()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Registry:
    root: Path

    @property
    def file(self) -> Path:
        return self.root / REGISTRY_FILE

    def read(self) -> dict[str, Any]:
        if not self.file.is_file():
            return {"champion": None, "versions": [], "history": []}
        try:
            data: dict[str, Any] = json.loads(self.file.read_text())
        except ValueError as exc:
            raise RegistryError(f"{self.file}: unreadable registry: {exc}") from exc
        return data

    def write(self, data: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.file)

    def versions(self) -> list[dict[str, Any]]:
        return list(self.read()["versions"])

    def add(self, model_dir: Path, metrics: dict[str, Any] | None = None) -> str:
        """Copy a model directory in as a new version (not promoted)."""
        manifest = read_manifest(model_dir)
        version = str(manifest["version"])
        data = self.read()
        if any(v["version"] == version for v in data["versions"]):
            raise RegistryError(f"version {version} is already registered")
        target = self.root / "versions" / version
        if target.resolve() != model_dir.resolve():
            shutil.copytree(model_dir, target, dirs_exist_ok=True)
        data["versions"].append(
            {
                "version": version,
                "name": manifest.get("name", ""),
                "created": manifest.get("created", _now()),
                "path": str(target.relative_to(self.root)),
                "metrics": metrics or {},
            }
        )
        self.write(data)
        return version

    def champion(self) -> str | None:
        champion = self.read().get("champion")
        return str(champion) if champion else None

    def champion_dir(self) -> Path:
        champion = self.champion()
        if champion is None:
            raise RegistryError(f"{self.root}: no champion yet (mailwarden models promote)")
        return self.root / "versions" / champion

    def promote(self, version: str) -> None:
        data = self.read()
        if not any(v["version"] == version for v in data["versions"]):
            known = ", ".join(v["version"] for v in data["versions"]) or "none"
            raise RegistryError(f"no version {version} (registered: {known})")
        if data.get("champion") == version:
            return
        data["history"].append(
            {"at": _now(), "action": "promote", "from": data.get("champion"), "to": version}
        )
        data["champion"] = version
        self.write(data)
        mlflow_alias(self.root, version)

    def rollback(self) -> str:
        """Make the champion before the current one champion again; returns it."""
        data = self.read()
        current = data.get("champion")
        previous = [h["from"] for h in data["history"] if h["to"] == current and h["from"]]
        if not current or not previous:
            raise RegistryError("nothing to roll back to: there was no champion before this one")
        target = previous[-1]
        data["history"].append({"at": _now(), "action": "rollback", "from": current, "to": target})
        data["champion"] = target
        self.write(data)
        mlflow_alias(self.root, target)
        return str(target)


# --- MLflow (optional) -----------------------------------------------------------------------


def mlflow_available() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def mlflow_uri(registry_root: Path) -> str:
    return (registry_root / "mlruns").resolve().as_uri()


def mlflow_log(
    registry_root: Path,
    params: dict[str, Any],
    metrics: dict[str, float],
    artifacts: Path,
    version: str,
) -> str | None:
    """Log one training run to the registry's local MLflow store; returns the run id, or None
    when MLflow is not installed."""
    if not mlflow_available():
        return None
    import logging
    import warnings

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    # MLflow 3 keeps its local file store for existing users only; a SQLite store needs
    # SQLAlchemy, which mlflow-skinny leaves out. The file store needs no server and no extra
    # package: opt in to it, for this process.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = mlflow_uri(registry_root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        mlflow.set_experiment("mailwarden")
        with mlflow.start_run(run_name=version) as run:
            mlflow.log_params({k: str(v)[:250] for k, v in params.items()})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            mlflow.set_tag("mailwarden.model_version", version)
            mlflow.log_artifacts(str(artifacts), artifact_path="model")
            run_id = str(run.info.run_id)
        try:
            client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            with contextlib.suppress(Exception):  # it exists already
                client.create_registered_model(MLFLOW_MODEL_NAME)
            mv = client.create_model_version(
                MLFLOW_MODEL_NAME, f"runs:/{run_id}/model", run_id=run_id, tags={"version": version}
            )
            client.set_model_version_tag(
                MLFLOW_MODEL_NAME, mv.version, "mailwarden.version", version
            )
        except Exception:  # noqa: BLE001 - the run is logged; the registry is best effort
            pass
    return run_id


def mlflow_alias(registry_root: Path, version: str) -> None:
    """Point MLflow's ``champion`` alias at the model version tagged `version` (best effort)."""
    if not mlflow_available() or not (registry_root / "mlruns").is_dir():
        return
    import warnings

    import mlflow

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = mlflow_uri(registry_root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            for mv in client.search_model_versions(f"name='{MLFLOW_MODEL_NAME}'"):
                if mv.tags.get("mailwarden.version") == version:
                    client.set_registered_model_alias(MLFLOW_MODEL_NAME, "champion", mv.version)
        except Exception:  # noqa: BLE001 - the registry file is the source of truth
            return
