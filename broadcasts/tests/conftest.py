import pytest


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """``with run_commits(): launch(...)`` — run the after-commit work (resolution,
    dispatch kicks) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
