"""The test command's PostgreSQL is its own: scripts/run-tests.sh starts a cluster in a
temporary directory on a free port (scripts/ensure-postgres.sh), never the one a machine may
already run on 5432, unless DD_TEST_POSTGRES_URL was given to it."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

URL = os.environ.get("DD_TEST_POSTGRES_URL", "")
OWN = os.environ.get("DD_TEST_POSTGRES_OWN", "")


def test_the_store_tests_run_on_the_cluster_the_test_command_started() -> None:
    if not URL:
        pytest.fail("DD_TEST_POSTGRES_URL is not set: run the tests with bash "
                    "scripts/run-tests.sh, which starts PostgreSQL for them", pytrace=False)
    if not OWN:
        pytest.skip("DD_TEST_POSTGRES_URL was given to the test command: it started no cluster")
    with psycopg.connect(URL, connect_timeout=5) as conn:
        data_directory = conn.execute("SHOW data_directory").fetchone()
        port = conn.execute("SHOW port").fetchone()
    assert data_directory is not None and port is not None
    assert Path(str(data_directory[0])).resolve() == Path(OWN).resolve()
    assert int(port[0]) != 5432  # not the port a system PostgreSQL listens on
    assert Path(OWN).name == "data" and Path(OWN).parent.name.startswith("dd-test-pg.")
