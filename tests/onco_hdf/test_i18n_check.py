"""The catalogue tool's command line: a missing catalogue is a usage error, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import polib
import pytest

from onco_hdf.i18n_check import USAGE, cli
from tests.requirements import REPO_ROOT


def test_without_a_catalogue_the_module_prints_its_usage_and_exits_2():
    run = subprocess.run(
        [sys.executable, "-m", "onco_hdf.i18n_check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stdout, run.stderr) == (2, "", USAGE + "\n")


@pytest.mark.parametrize("action", ["--normalize", "--compile"])
def test_an_action_without_a_catalogue_is_a_usage_error(action, capsys):
    assert cli([action]) == 2
    assert capsys.readouterr().err == USAGE + "\n"


def test_the_check_still_reports_the_untranslated_entries_of_each_catalogue(tmp_path, capsys):
    paths = []
    for name, translation in (("done", "Oui"), ("missing", "")):
        catalogue = polib.POFile()
        catalogue.append(polib.POEntry(msgid="Yes", msgstr=translation))
        catalogue.save(str(tmp_path / f"{name}.po"))
        paths.append(str(tmp_path / f"{name}.po"))
    assert cli(paths[:1]) == 0
    assert cli(paths) == 1
    out = capsys.readouterr().out
    assert out.count("1 / 1 French strings translated") == 2
    assert "untranslated: 'Yes' (?)\n0 / 1 French strings translated" in out
