"""Shared fixtures live in `tests/fixtures/`, one module per real part they start."""

pytest_plugins = [
    "tests.fixtures.replica",
    "tests.fixtures.bridge",
    "tests.fixtures.app_server",
    "tests.fixtures.slack_api",
    "tests.fixtures.tunnel",
]
