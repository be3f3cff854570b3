"""Copies schemas/ (the single source of the JSON Schema) into the wheel at build time."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithSchema(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "paperspace_deploy" / "data"
        target.mkdir(parents=True, exist_ok=True)
        for schema in (Path(__file__).parent / "schemas").glob("*.json"):
            shutil.copy2(schema, target / schema.name)


setup(cmdclass={"build_py": BuildPyWithSchema})
