import pytest

pytestmark = pytest.mark.slow


def test_demo_story_holds_its_expectations(capsys):
    from asusual.local.demo import main

    assert main() == 0
    out = capsys.readouterr().out
    assert "demo passed" in out and "FAIL" not in out
