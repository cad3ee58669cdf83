"""Overlapping the reading of the next item with the work on this one, on another core if allowed."""

import multiprocessing
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each made by a helper while the caller works on the previous one.

    Reading and checking rows is Python; writing them is mostly the database. A
    forked process checks the next chunk on another core while this one writes, so
    a chunk costs the longer of the two instead of their sum; a django-q worker (a
    daemonic process, which may not fork helpers) uses a thread instead, which
    overlaps only the database's own time. At most one item waits (flat memory);
    closing the iterator stops the helper; an error in it is raised here, in order.
    """
    if multiprocessing.current_process().daemon or "fork" not in (
        multiprocessing.get_all_start_methods()
    ):
        return read_ahead_in_thread(items)
    return read_ahead_in_process(items)


def read_ahead_in_process(items: Iterator[T]) -> Iterator[T]:
    """read_ahead with a forked helper process; items and errors come back pickled."""
    receiving, sending = multiprocessing.get_context("fork").Pipe(duplex=False)

    def produce() -> None:
        # The child never touches the database: the parent's connections stay its own.
        # Its copy of the reading end goes, so a parent that stops reading breaks the pipe.
        receiving.close()
        try:
            for item in items:
                sending.send(item)
            sending.send(None)
        except BaseException as exc:  # handed to the parent, which raises it
            sending.send(exc)

    helper = multiprocessing.get_context("fork").Process(
        target=produce, name="import-read-ahead", daemon=True
    )
    helper.start()
    sending.close()
    try:
        while (item := receiving.recv()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receiving.close()  # a child blocked on send gets a broken pipe and ends
        helper.join(timeout=10)
        if helper.is_alive():
            helper.kill()
            helper.join()


_END = object()


def read_ahead_in_thread(items: Iterator[T]) -> Iterator[T]:
    """read_ahead with a helper thread (the GIL lets it run while the database works)."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            hand_over(exc)

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
