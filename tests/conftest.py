"""Personas shared by every test: an admin and a marketer of one workspace, and
an outsider who is admin of another workspace."""

import pytest
from django.test import Client

from canvas.models import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

# The local Pinterest sandbox (started on a free port for the tests that ask for it),
# connection fixtures built on it, and shared Pinterest test helpers.
pytest_plugins = ["tests.pinterest_fixtures"]


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme Outdoor", slug="acme")


@pytest.fixture
def admin(workspace):
    user = UserFactory(email="alice@acme.test", first_name="Alice", last_name="Admin")
    MembershipFactory(workspace=workspace, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def marketer(workspace):
    user = UserFactory(email="bob@acme.test", first_name="Bob", last_name="Marketer")
    MembershipFactory(workspace=workspace, user=user, role=Role.MARKETER)
    return user


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="Globex", slug="globex")


@pytest.fixture
def outsider(other_workspace):
    user = UserFactory(email="charlie@globex.test", first_name="Charlie", last_name="Outsider")
    MembershipFactory(workspace=other_workspace, user=user, role=Role.ADMIN)
    return user


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests run on a file of their own per run: two runs never share a database."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and not database["TEST"].get("NAME"):
        database["TEST"]["NAME"] = str(tmp_path_factory.getbasetemp() / "test-db.sqlite3")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_admin(admin):
    return _client_for(admin)


@pytest.fixture
def as_marketer(marketer):
    return _client_for(marketer)


@pytest.fixture
def as_outsider(outsider):
    return _client_for(outsider)


@pytest.fixture
def password():
    """The password every factory-made person has."""
    return PASSWORD


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _engine_does_not_pause(settings):
    # The engine pauses between chunks on SQLite for other processes' writes; a test
    # drives every worker itself.
    settings.ENGINE_SQLITE_YIELD_SECONDS = 0


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate counters and the editor's cached Pinterest pages must not leak between tests
    # (a new test database reuses the same row ids).
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_run_inline(monkeypatch):
    """django-q2 runs queued tasks inline (its `sync` mode) unless a test starts a real cluster."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files go to a fresh folder per test; returns its path."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def run_concurrently(*calls) -> list[Exception]:
    """Run each call in its own thread, all released at once; returns what they raised.

    Each thread closes its database connection, as a worker process would.
    """
    import threading

    from django.db import connection

    start = threading.Barrier(len(calls))
    errors: list[Exception] = []

    def run(call):
        try:
            start.wait()
            call()
        except Exception as exc:  # handed back to the test, which asserts on it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
