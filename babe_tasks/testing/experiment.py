"""A throw-away experiment folder for a test: `invoke.yaml`, `plugins/`, the deploy config.

A plugin runs inside an experiment: the folder's `invoke.yaml` (`babe:` section, the plugin's
`babe.plugins.<name>` settings), its `plugins/` folder, and for _babe plugins its
`config/config_deploy.js`. `ExperimentFolder` writes those and nothing else, so a test states
exactly the experiment its plugin sees. It is also the working directory while the test runs
(the fixture changes into it), which is how `babe` finds an experiment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_SETTINGS", "ExperimentFolder"]

#: What `create` needs and nothing more: the page, the texts workers see, the reward.
DEFAULT_SETTINGS: dict[str, Any] = {
    "url": "https://example.org/experiment/",
    "title": "A short language study",
    "description": "Read sentences and rate them.",
    "reward": "0.50",
}


class ExperimentFolder:
    """An experiment folder: `path`, `name`; `configure`, `add_plugin`, `write_plugin`, `deploy_to`."""

    def __init__(self, path: str | Path, settings: dict[str, Any] | None = None):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS if settings is None else settings)
        self.write_config()

    @property
    def name(self) -> str:
        """The experiment's name unless `experiment` is set: the folder's name."""
        return str(self.settings.get("experiment") or self.path.name)

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str) -> Path:
        return self.path / other

    def __repr__(self) -> str:
        return f"ExperimentFolder({str(self.path)!r})"

    @property
    def config_path(self) -> Path:
        return self.path / "invoke.yaml"

    @property
    def ledger_path(self) -> Path:
        """Where `babe` keeps this experiment's ledger."""
        return self.path / ".babe" / "ledger.sqlite"

    @property
    def results(self) -> list[Path]:
        """The files `babe results` published, oldest first."""
        folder = self.path / "results"
        return sorted(p for p in folder.glob("*.csv") if not p.name.startswith(".")) if folder.is_dir() else []

    def configure(self, plugins: dict[str, Any] | None = None, **settings: Any) -> Path:
        """Change `invoke.yaml`: `babe:` keys as keyword arguments, plugin sections by plugin name.

        `configure(reward="1.00")` changes one key and keeps the rest; `configure(plugins={"min_time":
        {"minimum": "2m"}})` sets that plugin's section (None removes it); a key set to None is removed.
        """
        for key, value in settings.items():
            if value is None:
                self.settings.pop(key, None)
            else:
                self.settings[key] = value
        if plugins is not None:
            sections = dict(self.settings.get("plugins") or {})
            for name, section in plugins.items():
                if section is None:
                    sections.pop(name, None)
                else:
                    sections[name] = section
            self.settings["plugins"] = sections
        return self.write_config()

    def write_config(self) -> Path:
        import yaml

        self.config_path.write_text(yaml.safe_dump({"babe": self.settings}, sort_keys=False), encoding="utf-8")
        return self.config_path

    def add_plugin(self, path: str | os.PathLike, name: str | None = None) -> Path:
        """Copy a plugin file into `plugins/` (as `<name>.py`, default its own name); the copy's path."""
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"plugin file {source} does not exist")
        return write_plugin(self.path, name or source.stem, source.read_text(encoding="utf-8"))

    def write_plugin(self, name: str, source: str) -> Path:
        """Write a plugin file `plugins/<name>.py` with this source; its path."""
        return write_plugin(self.path, name, source)

    def deploy_to(
        self,
        backend: Any,
        experiment_id: str | int = 1,
        *,
        deploy_method: str = "MTurkSandbox",
        retrieval_keys: tuple[str, ...] = ("assignment_id", "worker_id", "hit_id"),
    ) -> str:
        """Point the experiment at a (fake) _babe backend, as its `config/config_deploy.js` does.

        `backend` is the `babe_backend` fixture's server (anything with `url` and `backend`). The
        experiment is added to the backend if it does not know it, with these dynamic retrieval
        keys (what the backend's JSON API returns without a password). Returns the submit URL the
        page posts to — hand it to simulated workers as `post_to`.
        """
        from .. import testing

        if str(experiment_id) not in backend.backend.experiments:
            backend.backend.add_experiment(experiment_id, retrieval_keys=list(retrieval_keys))
        prefix = f"{backend.url}/api/submit_experiment/"
        testing.write_deploy_config(self.path, experiment_id=experiment_id, server_app_url=prefix, deploy_method=deploy_method)
        return f"{prefix}{experiment_id}"


def write_plugin(folder: str | Path, name: str, source: str) -> Path:
    """A plugin file `plugins/<name>.py` in an experiment folder (loaded by the real plugin manager); its path."""
    plugins = Path(folder) / "plugins"
    plugins.mkdir(exist_ok=True)
    target = plugins / f"{name}.py"
    target.write_text(source, encoding="utf-8")
    return target
