"""Build hook: the wheel carries the notebooks and templates the runner needs.

They stay at the repository's top level (the layout the project promises); a wheel build copies
them into ``alliance_fin/_resources/`` so ``alliance-fin run`` works from any folder after
``pip install alliance_fin-*.whl``. Editable installs read them in place (see ``paths.py``).
Everything else is declared in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("notebooks", "templates")


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "alliance_fin" / "_resources"
        for name in RESOURCES:
            shutil.copytree(root / name, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


setup(cmdclass={"build_py": BuildWithResources})
