"""The README's Python examples run as written."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks(ROOT / "README.md")
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:  # blocks build on each other, as a reader runs them
        exec(compile(block, "README.md", "exec"), namespace)


@pytest.mark.parametrize("module", ["iqpgen"])
def test_public_names_have_docstrings_with_examples(module):
    import importlib

    mod = importlib.import_module(module)
    missing = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if name.startswith("__") or isinstance(obj, type(mod)):
            continue
        doc = obj.__doc__ or ""
        if ">>>" not in doc and name not in {"Estimate"}:
            missing.append(name)
    assert not missing, missing
