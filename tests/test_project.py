"""The repository's own files agree with one another: environment.yml with
pyproject.toml, the pytest settings with the book's promise (strict nbval over
the notebooks), and the real book with gan_tutor.book's checks."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from gan_tutor.book import check

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}  # conda entries that are not pyproject dependencies


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def conda_specs(environment: dict) -> list[str]:
    return [d for d in environment["dependencies"] if isinstance(d, str)]


def pip_specs(environment: dict) -> list[str]:
    sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    return [spec for section in sections for spec in section]


def env_python(environment: dict) -> SpecifierSet:
    [python] = [Requirement(s) for s in conda_specs(environment) if Requirement(s).name == "python"]
    return python.specifier


def python_floor(spec: SpecifierSet) -> str:
    """The version in the spec's single '>=' clause: the oldest Python the env allows."""
    [floor] = [s.version for s in spec if s.operator == ">="]
    return floor


def as_map(pairs: list[tuple[str, SpecifierSet]]) -> dict[str, SpecifierSet]:
    names = [canonicalize_name(name) for name, _ in pairs]
    assert len(names) == len(set(names)), f"a package is listed twice: {sorted(names)}"
    return dict(zip(names, (spec for _, spec in pairs)))


def extra_requirements(pyproject: dict, extra: str) -> list[Requirement]:
    """An extra's requirements, with ``gan_tutor[other]`` replaced by the other extra's."""
    project = pyproject["project"]
    reqs = []
    for spec in project["optional-dependencies"][extra]:
        req = Requirement(spec)
        if canonicalize_name(req.name) == canonicalize_name(project["name"]):
            for other in sorted(req.extras):
                reqs += extra_requirements(pyproject, other)
        else:
            reqs.append(req)
    return reqs


def pyproject_requirements(pyproject: dict, python_version: str) -> dict[str, SpecifierSet]:
    """Runtime + dev requirements (dev includes book) whose marker holds on ``python_version``."""
    project = pyproject["project"]
    reqs = [Requirement(s) for s in project["dependencies"]] + extra_requirements(pyproject, "dev")
    env = {"python_version": python_version, "python_full_version": f"{python_version}.0"}
    return as_map([(r.name, r.specifier) for r in reqs if r.marker is None or r.marker.evaluate(env)])


def environment_requirements(environment: dict) -> dict[str, SpecifierSet]:
    reqs = [Requirement(s) for s in conda_specs(environment)]
    return as_map([(CONDA_TO_PYPI.get(r.name, r.name), r.specifier)
                   for r in reqs if r.name not in NOT_PACKAGES])


def test_environment_matches_pyproject_dependencies(pyproject, environment):
    floor = python_floor(env_python(environment))
    ours = environment_requirements(environment)
    theirs = pyproject_requirements(pyproject, floor)
    differences = (
        [f"{n}: only in pyproject.toml ({theirs[n]})" for n in sorted(set(theirs) - set(ours))]
        + [f"{n}: only in environment.yml ({ours[n]})" for n in sorted(set(ours) - set(theirs))]
        + [f"{n}: pyproject.toml says {theirs[n]!s}, environment.yml says {ours[n]!s}"
           for n in sorted(set(ours) & set(theirs)) if ours[n] != theirs[n]]
    )
    assert differences == [], "\n".join(differences)


def test_environment_python_is_allowed_by_pyproject(pyproject, environment):
    # The env's oldest Python must satisfy requires-python (>=3.10 admits 3.11).
    floor = python_floor(env_python(environment))
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains(floor)


def test_environment_installs_the_package_editable(environment):
    assert "conda-forge" in environment["channels"]
    assert "pip" in [Requirement(s).name for s in conda_specs(environment)]
    assert pip_specs(environment) == ["-e ."]


def test_pytest_runs_strict_nbval_over_tests_and_notebooks(pyproject):
    options = pyproject["tool"]["pytest"]["ini_options"]
    addopts = shlex.split(options["addopts"])
    assert "--nbval" in addopts
    assert "--nbval-lax" not in addopts
    assert {"tests", "notebooks"} <= set(options["testpaths"])


def test_the_real_book_has_no_problems():
    # Fails until every chapter's pair and README.md's chapter table exist.
    problems = check(ROOT)
    assert problems == [], "\n".join(problems)


def test_the_reading_extra_is_light_and_dev_includes_it(pyproject):
    """`.[book]` is what reading needs (JupyterLab and a kernel; the widgets are a runtime
    dependency), not the test tools; `.[dev]` is a superset of it."""
    book = {canonicalize_name(r.name) for r in extra_requirements(pyproject, "book")}
    dev = {canonicalize_name(r.name) for r in extra_requirements(pyproject, "dev")}
    assert "jupyterlab" in book and book <= dev
    assert not book & {"pytest", "playwright", "hypothesis", "nbval", "pytest-xdist"}


def readme_command(heading: str) -> str:
    """The one shell line in the first ```bash block after ``heading`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(heading):]
    block = after[after.index("```bash\n") + len("```bash\n"):]
    [line] = [l.strip() for l in block[:block.index("```")].splitlines() if l.strip()]
    return line


def test_ci_runs_exactly_the_readme_test_command_in_a_fresh_venv():
    command = readme_command("## Check everything")
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    assert command.endswith('pip install -e ".[dev]" && pytest')
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci.splitlines(), ".ci/run must run the README's test command as it is written"


def test_the_readme_reading_command_installs_the_light_extra():
    command = readme_command("## Start")
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    assert command.endswith('pip install -e ".[book]" && jupyter lab notebooks/')
