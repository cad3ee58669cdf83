"""The import reads and checks the next chunk while it writes one: in a forked process, or a
thread in django-q's daemonic workers. Either way: every item once, in order, errors in place."""

import contextlib
import multiprocessing
import threading

import pytest

from canvas.services.read_ahead import read_ahead_in_process, read_ahead_in_thread

HELPERS = [read_ahead_in_process, read_ahead_in_thread]


class Unreadable(ValueError):
    pass


def numbers(count, fail_at=None):
    for n in range(count):
        if n == fail_at:
            raise Unreadable(f"line {n}")
        yield {"n": n, "payload": "x" * 1000}


@pytest.mark.parametrize("read_ahead", HELPERS)
def test_every_item_arrives_once_in_order(read_ahead):
    assert [item["n"] for item in read_ahead(numbers(200))] == list(range(200))


@pytest.mark.parametrize("read_ahead", HELPERS)
def test_an_error_arrives_after_the_items_before_it(read_ahead):
    seen = []
    with pytest.raises(Unreadable, match="line 7"):
        seen.extend(item["n"] for item in read_ahead(numbers(20, fail_at=7)))
    assert seen == list(range(7))


@pytest.mark.parametrize("read_ahead", HELPERS)
def test_stopping_early_stops_the_helper(read_ahead):
    before = threading.active_count()
    with contextlib.closing(read_ahead(numbers(10_000))) as items:
        assert next(items)["n"] == 0
    # Closed: no helper thread or process is left behind.
    assert threading.active_count() == before
    assert multiprocessing.active_children() == []
