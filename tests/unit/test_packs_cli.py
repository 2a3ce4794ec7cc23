"""``orch ip new`` and how ``orch ip install`` tells which distribution it installs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from orch.cli.main import _register, cli
from orch.packs.install import InstallError, distribution_name
from orch.packs.scaffold import ScaffoldError, module_name, scaffold


def test_scaffold_writes_a_pack_project(tmp_path: Path) -> None:
    root = scaffold("acme.Tools-2", tmp_path)
    assert module_name("acme.Tools-2") == "acme_tools_2"
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "acme.Tools-2"
    assert pyproject["project"]["entry-points"]["orch.activities"] == {
        "acme_tools_2": "acme_tools_2"
    }
    activity = (root / "src" / "acme_tools_2" / "activities.py").read_text()
    assert "from orch.sdk import" in activity and "import orch." not in activity
    assert "run_activity" in (root / "tests" / "test_activities.py").read_text()
    assert distribution_name(str(root)) == "acme.Tools-2"
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("acme.Tools-2", tmp_path)
    with pytest.raises(ScaffoldError, match="not a pack name"):
        scaffold("1bad name", tmp_path)


def test_distribution_names_of_files(tmp_path: Path) -> None:
    assert distribution_name("dist/hello_pack-0.1.0-py3-none-any.whl") == "hello_pack"
    assert distribution_name("dist/hello-pack-0.1.0.tar.gz") == "hello-pack"
    with pytest.raises(InstallError, match="expected a wheel"):
        distribution_name("dist/readme.txt")
    with pytest.raises(InstallError, match=r"no pyproject\.toml"):
        distribution_name(str(tmp_path))


def test_orch_ip_new(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(cli, ["ip", "new", "my-pack", "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert '"pack": "my_pack"' in result.output
    assert (tmp_path / "my-pack" / "src" / "my_pack" / "__init__.py").is_file()
    again = CliRunner().invoke(cli, ["ip", "new", "my-pack", "--dir", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output
