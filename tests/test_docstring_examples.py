"""The public API's docstrings (everything ``medhub.__all__`` exports, and the hooks): each has an Example that
runs as a doctest and passes, each dataclass field and each function parameter is described."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import re

import pytest

import medhub

# The modules that define the public names, and the package itself.
PUBLIC_MODULES = ("medhub", "medhub.core.registry", "medhub.core.hookspecs", "medhub.core.errors",
                  "medhub.core.submission.formats", "medhub.core.model_adapters", "medhub.api")
HOOKS = ("register_datasets", "register_models", "register_layouts", "register_metrics", "register_losses",
         "register_optimizers", "register_schedules", "register_transforms")
ARG_LINE = re.compile(r"^ {4}(?:\*\*)?(\w+)(?: \(|:)", re.M)  # "    name (type): ..." or "    **name: ..."


def public_names() -> list[str]:
    return [name for name in medhub.__all__ if name != "__version__"]


def own_doctests() -> list[doctest.DocTest]:
    """Every docstring with examples in the public modules (classes' methods included)."""
    finder = doctest.DocTestFinder()
    tests = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        tests += [t for t in finder.find(module) if t.examples]
    return sorted(tests, key=lambda t: t.name)


def section(doc: str, title: str) -> str:
    """The body of the Google-style ``title:`` section of a docstring, dedented one level ('' when absent)."""
    match = re.search(rf"^{title}:\n((?:(?: {{4}}.*)?\n)*)", inspect.cleandoc(doc) + "\n", re.M)
    return match.group(1) if match else ""


def documented_args(doc: str) -> list[str]:
    return ARG_LINE.findall(section(doc, "Args"))


def documenting_docstring(name: str) -> str:
    """The docstring that documents a public name: its own for a class or function, else its module's (the
    pluggy markers, the built-in submission formats)."""
    value = getattr(medhub, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        return inspect.getdoc(value) or ""
    module = importlib.import_module(medhub._PUBLIC[name])
    doc = inspect.getdoc(module) or ""
    assert name in doc, f"{module.__name__}'s docstring does not mention {name}"
    return doc


DOCTESTS = own_doctests()


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_every_docstring_example_runs_and_prints_what_it_shows(test, capsys):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=print)
    result = runner.summarize(verbose=False)
    report = capsys.readouterr().out
    assert result.attempted == len(test.examples) and result.failed == 0, report


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_has_an_example_that_the_doctests_run(name):
    doc = documenting_docstring(name)
    assert ">>> " in section(doc, "Example"), f"{name}: no doctest in its Example section"
    assert any(inspect.cleandoc(t.docstring or "") == doc for t in DOCTESTS), name


@pytest.mark.parametrize("cls_name", ["Source", "DatasetInfo", "ModelInfo", "LayoutInfo", "MetricInfo",
                                      "SubmissionFormat"])
def test_every_dataclass_field_is_described_in_args(cls_name):
    cls = getattr(medhub, cls_name)
    described = documented_args(cls.__doc__)
    assert described == [f.name for f in dataclasses.fields(cls)]  # each field once, in declaration order


@pytest.mark.parametrize("name", [n for n in public_names() if inspect.isfunction(getattr(medhub, n))])
def test_every_public_function_describes_its_parameters_and_what_it_returns(name):
    func = getattr(medhub, name)
    assert documented_args(func.__doc__) == list(inspect.signature(func).parameters)
    assert section(func.__doc__, "Returns").strip(), f"{name}: no Returns section"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_says_what_register_accepts_with_an_example(hook):
    from medhub.core import hookspecs

    doc = getattr(hookspecs, hook).__doc__
    assert documented_args(doc) == ["register"] and "accepts" in section(doc, "Args")
    example = section(doc, "Example")
    assert f"def {hook}(register)" in example and "@hookimpl" in example


def test_the_doctests_cover_every_public_module():
    files = {t.filename for t in DOCTESTS}
    for module_name in PUBLIC_MODULES:
        assert importlib.import_module(module_name).__file__ in files, module_name
