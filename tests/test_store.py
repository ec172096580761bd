"""lib.store: a stored result is computed again when the code it runs changes, and only then."""
from __future__ import annotations

import shutil

import pytest

from lib import store


def _names(files, root=store.LIB):
    return {p.relative_to(root).as_posix() for p in files}


def test_a_training_result_is_keyed_on_the_training_code_not_on_the_rest_of_lib():
    files = _names(store.imported_files(["lib.experiments.training"]))
    assert {"experiments/training.py", "training.py", "layers.py", "batchnorm.py", "checks.py",
            "experiments/__init__.py", "__init__.py"} <= files
    # chapter 9's experiments and chapter 2's steps: another chapter's change reuses the runs
    assert not {"experiments/residual.py", "steps/basics.py", "steps/audit.py"} & files


def test_the_key_covers_the_store_itself_and_changes_with_the_code():
    training, audit = (store._code_digest(m) for m in ("lib.experiments.training", "lib.steps.audit"))
    assert training != audit
    assert "store.py" in _names(store.imported_files(["lib.store"]))


@pytest.fixture
def lib_copy(tmp_path):
    shutil.copytree(store.LIB, tmp_path / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "lib"


def test_an_import_added_anywhere_in_the_chain_is_followed(lib_copy):
    layers = lib_copy / "layers.py"
    layers.write_text(layers.read_text() + "\n\ndef _late():\n    from lib.steps import basics\n")
    files = _names(store.imported_files(["lib.experiments.training"], lib_copy), lib_copy)
    assert {"steps/basics.py", "steps/__init__.py"} <= files


def test_a_relative_import_in_lib_is_refused_by_name(lib_copy):
    (lib_copy / "training.py").write_text("from . import layers\n")
    with pytest.raises(ImportError, match=r"training\.py: lib imports itself absolutely"):
        store.imported_files(["lib.training"], lib_copy)
