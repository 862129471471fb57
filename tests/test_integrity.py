"""A cache and a report folder that cannot lie (issue 14): inputs read once, damaged cache
entries and changed published files noticed, nothing followed or deleted outside the tool's
folders, one run at a time, hand edits kept, interrupts and kills leaving nothing behind.

Most tests work on a copy of the bundled report's project (its cache included), so a run in
them executes at most one notebook."""

from __future__ import annotations

import shutil

from jakisurvey import inputs

from helpers import DATA


# 1. Inputs are read once

def test_kernels_get_the_bytes_the_run_read_whatever_the_files_hold_now(tmp_path, monkeypatch):
    data = shutil.copytree(DATA, tmp_path / "data")
    given = inputs.Inputs(data / "synthetic" / "records.csv", data / "data_dictionary.csv",
                          data / "study.yml")
    checked = inputs.check_inputs(given)
    monkeypatch.setattr(inputs, "_loaded", {})
    monkeypatch.setenv(*inputs.hand_over(checked, given, tmp_path / "checked.pickle").popitem())
    lines = given.records.read_text(encoding="utf-8").splitlines(keepends=True)
    given.records.write_text("".join(lines[:100]), encoding="utf-8")   # a sync client's copy
    kernel = inputs.load(given.records, given.dictionary, given.study)
    assert len(kernel.survey.data) == len(checked.survey.data) == 235
    assert kernel.hashes == checked.hashes
