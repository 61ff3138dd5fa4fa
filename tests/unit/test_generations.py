"""Generation folders and the reader that follows the ``current`` link."""

from __future__ import annotations

import shutil

import pytest

from paperfeed.search.generations import CurrentReader, GenerationFolders


def test_publish_swaps_and_cleans_up(tmp_path):
    folders = GenerationFolders(tmp_path / "idx")
    first = folders.new_dir()
    folders.publish(first)
    second = folders.new_dir()
    assert folders.current_path() == first
    folders.publish(second)
    assert folders.current_path() == second and not first.exists()


def test_newer_unfinished_generations_can_be_kept(tmp_path):
    folders = GenerationFolders(tmp_path / "idx", keep_newer=lambda folder: (folder / "BUILDING").exists())
    old, newer = folders.new_dir(), folders.new_dir()
    (newer / "BUILDING").touch()
    folders.publish(old)
    assert newer.exists()


def test_reader_retries_when_a_generation_vanishes_under_it(tmp_path):
    folders = GenerationFolders(tmp_path / "idx")
    first = folders.new_dir()
    (first / "name").write_text("first")
    folders.publish(first)
    calls = []

    def load(folder):
        calls.append(folder.name)
        if len(calls) == 1:  # a rebuild finishes between reading the link and loading
            second = folders.new_dir()
            (second / "name").write_text("second")
            folders.publish(second)
        return (folder / "name").read_text()

    reader = CurrentReader(folders, load, refresh_seconds=0.0)
    assert reader.get() == "second"
    assert calls == ["gen-1", "gen-2"]


def test_reader_refreshes_in_place_and_reports_real_errors(tmp_path):
    folders = GenerationFolders(tmp_path / "idx")
    folders.publish(folders.new_dir())
    refreshed = []
    reader = CurrentReader(
        folders, lambda folder: [folder.name], refresh=refreshed.append, refresh_seconds=0.0
    )
    assert reader.get() == ["gen-1"]
    assert reader.get() == ["gen-1"] and refreshed == [["gen-1"]]
    shutil.rmtree(folders.root)
    assert reader.get() is None
    folders.publish(folders.new_dir())
    broken = CurrentReader(folders, lambda folder: 1 / 0, refresh_seconds=0.0)
    with pytest.raises(ZeroDivisionError):  # the folder exists: a real error is not swallowed
        broken.get()
