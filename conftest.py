"""Root conftest: the shared fixtures on real components live in nivaran_common.testing."""

pytest_plugins = ["nivaran_common.testing"]
