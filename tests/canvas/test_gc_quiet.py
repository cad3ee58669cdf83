"""gc_quiet: an import collects rarely while it runs and leaves the collector as it found it.

Imports run inside long-lived worker processes: objects frozen for an import and not
given back would never be collected again.
"""

import gc
import io
import multiprocessing

from canvas.models import Customer
from canvas.services.gc_quiet import gc_quiet
from canvas.services.imports import customer_import_file


def test_the_block_freezes_what_exists_and_gives_it_back():
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with gc_quiet():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (10_000, *before[1:])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_collector_is_given_back_when_the_block_fails():
    before = gc.get_threshold()
    try:
        with gc_quiet():
            raise RuntimeError("a chunk failed")
    except RuntimeError:
        pass
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


def test_an_import_leaves_the_collector_as_it_found_it(workspace):
    before = gc.get_threshold()
    rows = "".join(f"c{i},c{i}@example.com\n" for i in range(50))
    file = io.BytesIO(f"external_id,email\n{rows}".encode())
    customer_import_file(workspace=workspace, file=file, file_name="c.csv")
    assert Customer.objects.filter(workspace=workspace).count() == 50
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


def test_only_the_outermost_block_gives_the_collector_back():
    before = gc.get_threshold()
    with gc_quiet():
        with gc_quiet():
            pass
        # The inner block neither unfroze the outer one's objects (which would leave none
        # frozen; some die meanwhile, so not a count) nor restored the threshold.
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (10_000, *before[1:])
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


def _report_collector(sending) -> None:
    sending.send((gc.get_threshold()[0], gc.get_freeze_count() > 0))


def test_a_helper_forked_inside_the_block_collects_as_quietly():
    # The import's read-ahead helper is forked inside the block and keeps its settings.
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    with gc_quiet():
        helper = context.Process(target=_report_collector, args=(sending,))
        helper.start()
        helper.join(timeout=10)
    assert receiving.recv() == (10_000, True)
