"""The documentation site: its examples run, it builds with warnings as errors, and its API
reference lists every public name.

Every code block fenced as ```python in a Markdown page under ``docs/`` runs, the blocks of a
page in order and in one namespace (fresh for each page), in a temporary directory. A block
that must not run (it needs several machines, the internet or a hardware account) is written
with the ``{code-block} python`` directive instead, which renders the same.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

import iqpgen

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = ("_build", "api")  # build output and generated pages, not sources
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)(.*)$")


def _pages() -> list[Path]:
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if p.relative_to(DOCS).parts[0] not in GENERATED and p.name != "README.md"
    )


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each top-level ```python block of a Markdown text."""
    blocks: list[tuple[int, str]] = []
    fence, start, code = None, 0, None  # code: the lines of an open python block, else None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if fence is None:
            m = FENCE.match(line)
            if m:
                fence, start = m.group(1), lineno + 1
                code = [] if m.group(2) == "python" and not m.group(3).strip() else None
        elif set(line.rstrip()) == {fence[0]} and len(line.rstrip()) >= len(fence):
            if code is not None:
                blocks.append((start, "\n".join(code) + "\n"))
            fence = None
        elif code is not None:
            code.append(line)
    assert fence is None, "a code fence is never closed"
    return blocks


def test_python_blocks_parser():
    text = "x\n```python\na = 1\n```\n```bash\nrm -rf /\n```\n````md\n```python\nb\n```\n````\n"
    text += "```{code-block} python\nnot run\n```\n~~~python\nc = 2\n~~~\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (17, "c = 2\n")]


PAGES_WITH_CODE = [p for p in _pages() if python_blocks(p.read_text())]


def test_guides_have_examples():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES_WITH_CODE}
    guides = ["index", "model", "fitting", "evaluating", "scaling", "deploying", "datasets"]
    missing = [g for g in guides if f"{g}.md" not in names]
    assert not missing, f"these pages have no ```python example: {missing}"


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IQPGEN_CACHE", str(tmp_path / "cache"))  # datasets cache: not ~/.cache
    namespace: dict = {"__name__": "__docs__"}
    t0, c0 = time.perf_counter(), time.process_time()
    for start, code in python_blocks(page.read_text()):
        # Pad so that tracebacks give the line numbers of the Markdown file.
        exec(compile("\n" * (start - 1) + code, str(page), "exec"), namespace)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{page.name}: {wall:.1f} s wall, {cpu:.1f} s CPU")  # pytest -s shows it; aim < 20 s


# ------------------------------------------------------------------------- the site build
def _load_conf():
    spec = importlib.util.spec_from_file_location("iqpgen_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def _public_modules() -> list[str]:
    """``iqpgen`` and every module under it with no ``_``-prefixed part in its name."""
    names = ["iqpgen"]
    for info in pkgutil.walk_packages(iqpgen.__path__, "iqpgen."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def test_api_modules_listed():
    """Every public module directly under iqpgen has a page (``API_MODULES`` in conf.py)."""
    listed = _load_conf().API_MODULES
    assert len(listed) == len(set(listed)), "a module is listed twice in API_MODULES"
    wanted = [m for m in _public_modules() if m.count(".") <= 1]
    missing = [m for m in wanted if m not in listed]
    assert not missing, f"add these to API_MODULES in docs/conf.py: {missing}"
    for m in listed:
        importlib.import_module(m)


def test_benchmarks_readme_is_adapted(tmp_path, monkeypatch):
    conf = _load_conf()
    monkeypatch.setattr(conf, "BENCH_README", tmp_path / "missing.md")
    assert "python benchmarks/bench_mmd.py" in conf._benchmarks_text()
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Results\n\nSee [the script](bench_mmd.py), [paper](https://arxiv.org/abs/2503.02934)"
        " and ![plot](plot.png).\n\n```bash\n# not a heading\n```\n"
    )
    monkeypatch.setattr(conf, "BENCH_README", readme)
    text = conf._benchmarks_text()
    assert text.startswith("## Results\n")
    assert "the script (`benchmarks/bench_mmd.py`)" in text
    assert "[paper](https://arxiv.org/abs/2503.02934)" in text
    assert "![plot](../benchmarks/plot.png)" in text
    assert "\n# not a heading\n" in text
    readme.write_text("## Only second-level\n\n### Third\n")  # no level-1 heading
    assert conf._benchmarks_text() == "## Only second-level\n\n### Third\n"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """Build the site once, warnings as errors; skip if Sphinx is not installed."""
    for module in ("sphinx", "myst_parser"):
        pytest.importorskip(module, reason=f"{module} is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    print(f"sphinx build: {seconds:.1f} s")
    return out / "html", proc, seconds


def test_site_builds_without_warnings(built_site):
    html, proc, seconds = built_site
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr}\n{proc.stdout}"
    assert (html / "index.html").exists()
    for page in ["model", "fitting", "evaluating", "scaling", "deploying", "datasets"]:
        assert (html / f"{page}.html").exists(), page
    bench = (html / "benchmarks.html").read_text()
    assert "bench_mmd" in bench or (ROOT / "benchmarks" / "README.md").exists()


def _inventory(html: Path) -> dict[str, str]:
    """``{name: role}`` of the objects in a built site's ``objects.inv``."""
    raw = (html / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four header lines, then a zlib stream
        header_end = raw.index(b"\n", header_end) + 1
    out = {}
    for line in zlib.decompress(raw[header_end:]).decode().splitlines():
        m = re.match(r"(.+?)\s+(\S+:\S+)\s+-?\d+\s", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_api_reference_lists_every_public_name(built_site):
    html, proc, _ = built_site
    assert proc.returncode == 0, "the site did not build; see test_site_builds_without_warnings"
    inv = _inventory(html)
    missing = []
    for name in iqpgen.__all__:
        if f"iqpgen.{name}" not in inv:
            missing.append(f"iqpgen.{name}")
    for modname in _public_modules():
        module = importlib.import_module(modname)
        if modname.count(".") <= 1 and inv.get(modname) != "py:module":
            missing.append(f"{modname} (module page)")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            # Documented here, or in a package above that exports the same object.
            parts = modname.split(".")
            candidates = [modname] + [
                ".".join(parts[:k])
                for k in range(1, len(parts))
                if getattr(importlib.import_module(".".join(parts[:k])), name, None) is obj
            ]
            if not any(f"{c}.{name}" in inv for c in candidates):
                missing.append(f"{modname}.{name}")
    assert not missing, f"not in the API reference: {missing}"
