"""Documentation stays in step with the code: every setting is documented."""

from __future__ import annotations

from paperfeed.config import Settings
from tests.conftest import REPO


def test_every_setting_is_documented():
    text = (REPO / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`PAPERFEED_{name.upper()}`" not in text]
    assert not missing, f"undocumented settings: {missing}"


def test_readme_shows_the_two_front_door_commands():
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
