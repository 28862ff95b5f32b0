"""The command that adds an extra names what this copy was installed from (PEP 610), so it
works where the user stands: the checkout of an editable install, the folder or the wheel it
came from, a git URL, or the index's name only when it came from an index."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from connectors_mock.install import install_command, requirement

REPO = Path(__file__).resolve().parents[1]


def test_an_editable_install_is_installed_again_from_its_checkout(tmp_path: Path) -> None:
    origin = {"url": tmp_path.as_uri(), "dir_info": {"editable": True}}
    assert shlex.split(requirement(origin, "contract", "0.1.0")) == ["-e", f"{tmp_path}[contract]"]


def test_a_folder_or_a_wheel_is_named_by_its_path(tmp_path: Path) -> None:
    wheel = tmp_path / "connectors_mock-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    folder = {"url": tmp_path.as_uri(), "dir_info": {}}
    archive = {"url": wheel.as_uri(), "archive_info": {"hashes": {}}}
    assert shlex.split(requirement(folder, "contract", "0.1.0")) == [f"{tmp_path}[contract]"]
    assert shlex.split(requirement(archive, "contract", "0.1.0")) == [f"{wheel}[contract]"]


def test_a_path_with_spaces_stays_one_argument(tmp_path: Path) -> None:
    spaced = tmp_path / "my projects" / "connectors-mock"
    spaced.mkdir(parents=True)
    origin = {"url": spaced.as_uri(), "dir_info": {"editable": True}}
    assert shlex.split(requirement(origin, "contract", "0.1.0")) == ["-e", f"{spaced}[contract]"]


def test_a_wheel_that_is_gone_falls_back_to_the_name_and_version(tmp_path: Path) -> None:
    gone = {"url": (tmp_path / "gone.whl").as_uri(), "archive_info": {}}
    assert shlex.split(requirement(gone, "contract", "0.1.0")) == ["connectors-mock[contract]==0.1.0"]


def test_a_git_or_remote_install_is_named_by_its_url() -> None:
    git = {"url": "https://example.com/acme/connectors-mock.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}
    remote = {"url": "https://files.example.com/connectors_mock-0.1.0-py3-none-any.whl", "archive_info": {}}
    assert shlex.split(requirement(git, "contract", "0.1.0")) == [
        "connectors-mock[contract] @ git+https://example.com/acme/connectors-mock.git@abc123"
    ]
    assert shlex.split(requirement(remote, "contract", "0.1.0")) == [
        "connectors-mock[contract] @ https://files.example.com/connectors_mock-0.1.0-py3-none-any.whl"
    ]


def test_this_checkouts_editable_install_names_this_python_and_this_checkout() -> None:
    # The test environment is `pip install -e '.[test]'` in this checkout (README).
    expected = [sys.executable, "-m", "pip", "install", "-e", f"{REPO}[contract]"]
    assert shlex.split(install_command("contract")) == expected
