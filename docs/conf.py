"""Sphinx configuration of the iqpgen documentation.

Build (warnings are errors, no network needed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are Markdown (MyST). The API reference under ``api/`` is generated at build time from
``API_MODULES`` below: one page per module, listing every name in the module's ``__all__``.
To add a module to the reference, add one line to ``API_MODULES``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import posixpath
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the working tree, installed or not

import iqpgen  # noqa: E402

project = "iqpgen"
author = "the iqpgen developers"
copyright = "the iqpgen developers"  # noqa: A001
release = iqpgen.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

# -- the API reference ------------------------------------------------------------------
#: Modules of the API reference, in the order of its index. One line per module.
API_MODULES = [
    "iqpgen",
    "iqpgen.circuit",
    "iqpgen.gates",
    "iqpgen.estimator",
    "iqpgen.walsh",
    "iqpgen.costs",
    "iqpgen.exact",
    "iqpgen.bitflip",
    "iqpgen.kernel",
    "iqpgen.operators",
    "iqpgen.mmd",
    "iqpgen.verify",
    "iqpgen.noise",
    "iqpgen.symmetry",
    "iqpgen.init",
    "iqpgen.train",
    "iqpgen.objective",
    "iqpgen.fitplan",
    "iqpgen.model",
    "iqpgen.persist",
    "iqpgen.export",
    "iqpgen.parallel",
    "iqpgen.datasets",
    "iqpgen.datasets.convergence",
    "iqpgen.datasets.ising",
    "iqpgen.baselines",
    "iqpgen.baselines.common",
    "iqpgen.baselines.energy",
    "iqpgen.baselines.mcmc",
    "iqpgen.evaluate",
    "iqpgen.evaluate.paper",
    "iqpgen.evaluate.common",
    "iqpgen.io",
    "iqpgen.cli",
]

#: Names documented beyond a module's ``__all__``: lower-level pieces the guides use.
API_EXTRA = {
    "iqpgen.mmd": ["loss_from_packed"],
}

API_DIR = DOCS / "api"  # generated; see docs/.gitignore


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def _summary(module) -> str:
    doc = inspect.getdoc(module) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _top_level() -> dict[int, str]:
    """id(object) -> name for the objects ``iqpgen`` re-exports (documented there)."""
    return {
        id(getattr(iqpgen, n)): n
        for n in iqpgen.__all__
        if not n.startswith("_") and not inspect.ismodule(getattr(iqpgen, n))
    }


def _directive(module, name: str) -> list[str]:
    """autodoc directive for one public name; classes get their methods, including those of
    iqpgen's own base classes (other libraries' methods are dropped by ``_skip_member``)."""
    obj = getattr(module, name)
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        return [f".. {kind}:: {name}", "   :members:", "   :inherited-members:", ""]
    if callable(obj):
        return [f".. autofunction:: {name}", ""]
    return [f".. autodata:: {name}", ""]


def _module_page(name: str) -> str:
    module = importlib.import_module(name)
    public = list(getattr(module, "__all__", []))
    lines = [_title(name), "", f".. automodule:: {name}", ""]
    if name == "iqpgen":
        modules = [n for n in public if inspect.ismodule(getattr(module, n))]
        for n in public:
            if n not in modules and not n.startswith("_"):
                lines += _directive(module, n)
        lines += [
            ".. py:data:: __version__",
            "   :type: str",
            "",
            f"   The installed version, ``{iqpgen.__version__}`` for this documentation.",
            "",
            _title("Submodules", "-"),
            "The package imports these modules; each has its page.",
            "",
        ]
        lines += [f"* :mod:`iqpgen.{m}`: {_summary(getattr(module, m))}" for m in modules]
        return "\n".join(lines) + "\n"
    top = _top_level()
    for n in public + [n for n in API_EXTRA.get(name, []) if n not in public]:
        obj = getattr(module, n)
        if id(obj) not in top:
            lines += _directive(module, n)
        else:
            # Documented under the top-level name; this short entry keeps references such as
            # :func:`expval` inside this module's docstrings working.
            kind, role = ("class", "class") if inspect.isclass(obj) else ("function", "func")
            lines += [
                f".. py:{kind}:: {n}",
                "",
                f"   Exported as :{role}:`iqpgen.{top[id(obj)]}`, documented there.",
                "",
            ]
    return "\n".join(lines) + "\n"


def _index_page() -> str:
    lines = [
        _title("API reference"),
        "",
        "Generated from the docstrings. Every name in a module's ``__all__`` is listed on the",
        "module's page; the classes and functions that :mod:`iqpgen` itself exports are",
        "documented there, under the names you import them by (``iqpgen.IqpModel``).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "   :hidden:",
        "",
    ]
    lines += [f"   {m}" for m in API_MODULES]
    lines += ["", ".. list-table::", "   :widths: 25 75", ""]
    for m in API_MODULES:
        summary = _summary(importlib.import_module(m))
        lines += [f"   * - :mod:`{m}`", f"     - {summary}"]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:  # keep mtimes: incremental builds
        path.write_text(text)


def generate_api(app=None) -> None:
    API_DIR.mkdir(exist_ok=True)
    wanted = {f"{m}.rst" for m in API_MODULES} | {"index.rst"}
    for stale in API_DIR.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    _write(API_DIR / "index.rst", _index_page())
    for m in API_MODULES:
        _write(API_DIR / f"{m}.rst", _module_page(m))


# -- the benchmarks page ----------------------------------------------------------------
BENCH_README = ROOT / "benchmarks" / "README.md"
BENCH_MARKER = "<!-- benchmarks/README.md goes here -->"
BENCH_PLACEHOLDER = """\
## Results

No results are recorded in the repository yet: they are produced by
`python benchmarks/bench_mmd.py`, and `benchmarks/README.md`, once it exists, appears here.
"""


def _benchmarks_text() -> str:
    """``benchmarks/README.md`` with its headings moved under the page title and its relative
    links made plain text (they point into the repository, not into this site)."""
    if not BENCH_README.exists():
        return BENCH_PLACEHOLDER
    lines = BENCH_README.read_text().splitlines()
    prose, fence = [], None  # prose[i]: line i is outside code fences
    for line in lines:
        m = re.match(r"\s*(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
            prose.append(False)
            continue
        prose.append(fence is None)
    headings = [x for x, p in zip(lines, prose, strict=True) if p and re.match(r"#+\s", x)]
    levels = [len(x) - len(x.lstrip("#")) for x in headings]
    shift = 2 - min(levels, default=2)
    out = []
    for line, is_prose in zip(lines, prose, strict=True):
        if is_prose:
            if re.match(r"#+\s", line):
                line = "#" * shift + line if shift >= 0 else line[-shift:]
            line = re.sub(
                r"!\[([^\]]*)\]\((?!https?:|/)([^)\s]+)\)",
                lambda m: f"![{m.group(1)}](../benchmarks/{m.group(2)})",
                line,
            )
            line = re.sub(
                r"(?<!!)\[([^\]]+)\]\((?!https?:|mailto:|#)([^)\s]+)\)",
                lambda m: f"{m.group(1)} (`{posixpath.normpath('benchmarks/' + m.group(2))}`)",
                line,
            )
        out.append(line)
    return "\n".join(out) + "\n"


def _source_read(app, docname, source) -> None:
    if docname == "benchmarks" and BENCH_MARKER in source[0]:
        source[0] = source[0].replace(BENCH_MARKER, _benchmarks_text())


def _skip_member(app, what, name, obj, skip, options):
    doc = getattr(obj, "__doc__", None) or ""
    if doc.startswith("Alias for field number"):  # NamedTuple fields: listed in the docstring
        return True
    if what == "class":  # methods a base class adds (scikit-learn's set_*_request, ...)
        module = getattr(getattr(obj, "fget", obj), "__module__", None) or "iqpgen"
        if not module.startswith("iqpgen"):
            return True
    return None


def _bench_outdated(app, env, added, changed, removed):
    return ["benchmarks"] if "benchmarks" in env.all_docs else []


# -- general ----------------------------------------------------------------------------
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]
root_doc = "index"
pygments_style = "sphinx"

myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

autodoc_member_order = "bysource"

autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "class"
autodoc_inherit_docstrings = False

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # "Attributes:" as fields, not as objects that duplicate members
napoleon_use_rtype = False

# MathJax: the browser loads it when a page is viewed; the build itself needs no network.
# Point IQPGEN_DOCS_MATHJAX at a local copy (e.g. a tex-chtml.js) to view the site offline.
if os.environ.get("IQPGEN_DOCS_MATHJAX"):
    mathjax_path = os.environ["IQPGEN_DOCS_MATHJAX"]

html_theme = "alabaster"
html_title = f"iqpgen {release}"
html_theme_options = {
    "description": "Train IQP circuits on classical hardware, deploy them on quantum.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}


def setup(app):
    app.connect("builder-inited", generate_api)
    app.connect("source-read", _source_read)
    app.connect("autodoc-skip-member", _skip_member)
    # benchmarks/README.md is read into the benchmarks page: rebuild that page when it changes.
    app.connect("env-get-outdated", _bench_outdated)
