"""The embedded AWS of local mode: moto's own server, with DynamoDB transactions made cheap and atomic.

``python -m local_mode.embedded_aws -H 127.0.0.1 -p 4566`` takes the arguments of ``moto_server`` and runs
moto's own entry point (``moto.server.main``) after four narrow patches, applied in this process only. The
catalog is one DynamoDB table and every portal write is a ``TransactWriteItems``; plain moto 5.2.5 cannot
hold a catalog of real size under it:

1. **Time.** ``DynamoDBBackend.transact_write_items`` (``moto/dynamodb/models/__init__.py``) snapshots each
   table a transaction names with ``copy.deepcopy`` before writing, to put the whole table back if the
   transaction fails. Every write therefore costs a copy of the whole catalog.
2. **Memory.** Nothing frees those copies. Every moto model (``BaseModel`` in ``moto/core/common_models.py``:
   ``Table``, ``Item`` ...) appends each instance it creates to a class-level list, ``instances_tracked``,
   which feeds the ``/moto-api/data.json`` dashboard; ``deepcopy`` creates instances through ``__new__``, so
   every snapshot (the table and each of its items) stays referenced for the life of the process. So do
   the copies of the items each ``Query``/``Scan`` returns and ``UpdateItem``'s copy of the old item.
3. **Concurrency.** moto_server serves each request in its own thread (werkzeug ``threaded=True``) and the
   backend takes no lock: the snapshot iterates a table other requests are writing (an exception, a 500),
   and a failed transaction puts back a table copied before writes other requests made and acknowledged
   meanwhile (they are lost).
4. **Queue depth.** ``SQSBackend.send_message`` (``moto/sqs/models.py``) builds the queue's whole attribute
   map, which counts every message in the queue, to read one flag. Each deployment file the portal writes
   is announced to the generator queue by such a send (an S3 notification), so while the queue backs up
   every portal write slows down with it.

The patches:

* a transaction snapshots no table: before running moto's own ``transact_write_items`` this keeps a copy of
  each item the transaction writes (at most 100), and if moto raises, puts exactly those back (or removes
  the ones that did not exist). moto's validation, conditions and cancellation reasons are untouched;
* DynamoDB ``Item`` objects are not registered in ``instances_tracked`` (so they are absent from moto's
  dashboard, which local mode does not use);
* every DynamoDB request runs under one lock, so each request, a transaction included, is atomic against
  the others. moto's DynamoDB is in-memory Python work that the GIL serializes anyway: the lock adds
  no waiting that was not there, it only removes the interleavings;
* while ``send_message`` runs, the queue's three message counts answer 0 (``send_message`` discards them);
  ``GetQueueAttributes`` still counts exactly.

Why patch rather than something else: moto's tracker has no fix or setting for this (searched: the
transaction snapshot dates from the feature's introduction, getmoto/moto#2879); DynamoDB Local would mean a
JVM and a second endpoint; serializing writes in the portal would neither cover the generator's writes nor
free the leaked copies. The patches name moto's internals, so they are checked at start (``MotoChanged``)
and by ``tests/e2e/test_embedded_aws.py``, which fails against plain ``moto_server``; moto is pinned exactly.
"""

from __future__ import annotations

import copy
import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local_mode import moto_fixes, snapshot

log = logging.getLogger(__name__)

#: the moto release the patches were written against (pinned in pyproject.toml and requirements.lock)
MOTO_VERSION = "5.2.5"

#: held by every DynamoDB request of the server (re-entrant: a transaction takes it again inside)
DYNAMODB_LOCK = threading.RLock()

_patched = False

#: the ``Queue`` properties that walk every message of the queue
_QUEUE_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)


class MotoChanged(RuntimeError):
    """The installed moto no longer has the internals the patches replace; update this module with moto."""


@dataclass(frozen=True)
class _BeforeImage:
    """One item a transaction is about to write, as it was (``item`` None: it did not exist)."""

    table: Any
    hash_value: Any
    range_value: Any
    item: Any


class _CopyKeepingTables:
    """The ``copy`` module as moto's DynamoDB backend module sees it, except that a ``Table`` is not copied.

    That module deep-copies whole tables in one place only, the snapshot of ``transact_write_items``; with
    this, the snapshot is the table itself and moto's rollback (assigning the snapshot back) changes nothing.
    Items (``UpdateItem``'s copy of the old item) are still deep-copied.
    """

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_class):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _stored_item(table: Any, hash_value: Any, range_value: Any) -> Any:
    """The item stored under a key, read without ``Table.get_item``'s side effect on a missing partition."""
    stored = table.items.get(hash_value)
    if table.range_key_attr is None or stored is None:
        return stored
    return stored.get(range_value)


def _before_images(backend: Any, transact_items: Sequence[dict[str, Any]], dynamo_type: type) -> list[_BeforeImage]:
    """A copy of every item the transaction's Put, Update and Delete operations name, as stored now."""
    images: list[_BeforeImage] = []
    for entry in transact_items:
        for kind, operation in entry.items():
            if kind not in ("Put", "Update", "Delete") or not isinstance(operation, dict):
                continue
            table = backend.tables.get(operation.get("TableName"))
            key = operation.get("Item" if kind == "Put" else "Key")
            if table is None or not isinstance(key, dict):
                continue  # moto fails this operation before writing anything
            try:
                hash_value = dynamo_type(key[table.hash_key_attr])
                range_value = dynamo_type(key[table.range_key_attr]) if table.range_key_attr else None
                current = _stored_item(table, hash_value, range_value)
            except (KeyError, TypeError, AttributeError, IndexError, ValueError):
                continue  # a malformed key: moto rejects the operation, nothing is written under it
            images.append(_BeforeImage(table, hash_value, range_value, copy.deepcopy(current)))
    return images


def _restore(images: Sequence[_BeforeImage]) -> None:
    """Put every imaged item back as it was (newest image first, so the oldest state wins)."""
    for image in reversed(images):
        items = image.table.items
        if image.table.range_key_attr is None:
            if image.item is None:
                items.pop(image.hash_value, None)
            else:
                items[image.hash_value] = image.item
        elif image.item is None:
            partition = items.get(image.hash_value)
            if partition is not None:
                partition.pop(image.range_value, None)
        else:
            items[image.hash_value][image.range_value] = image.item


#: set while moto's SendMessage runs in this thread (see ``_counted_unless_sending``)
_sending = threading.local()


def _counted_unless_sending(count: property) -> property:
    """A queue's message count, except 0 while SendMessage reads ``Queue.attributes`` only for one flag."""

    def value(queue: Any) -> Any:
        return 0 if getattr(_sending, "active", False) else count.fget(queue)  # type: ignore[misc]

    return property(value, doc=count.__doc__)


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``BaseModel.__new__`` without the registration in ``instances_tracked`` (which nothing ever frees)."""
    return object.__new__(cls)


def _replace(owner: object, name: str, value: Any) -> None:
    """Set ``owner.name``, which must exist: a moto that lost it is not the moto these patches were written for."""
    if not hasattr(owner, name):
        raise MotoChanged(f"moto has no {getattr(owner, '__name__', owner)}.{name}; update local_mode/embedded_aws.py")
    setattr(owner, name, value)


def patch_moto() -> None:
    """Apply the four patches described in the module docstring (idempotent)."""
    global _patched  # noqa: PLW0603  (one process-wide switch: patching twice would wrap twice)
    if _patched:
        return
    import moto  # noqa: PLC0415  (lazy: local_mode's other modules must not pay for importing moto)
    from moto.dynamodb import models as backend_module  # noqa: PLC0415
    from moto.dynamodb.models.dynamo_type import DynamoType, Item  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415
    from moto.sqs.models import Queue, SQSBackend  # noqa: PLC0415

    if getattr(backend_module, "copy", None) is not copy:
        raise MotoChanged(
            f"moto {moto.__version__}: moto.dynamodb.models no longer snapshots tables with the copy module; "
            f"local_mode/embedded_aws.py was written for moto {MOTO_VERSION}"
        )
    if moto.__version__ != MOTO_VERSION:
        log.warning("local_mode.embedded_aws patches moto %s, written for moto %s", moto.__version__, MOTO_VERSION)

    moto_transact = backend_module.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with DYNAMODB_LOCK:
            images = _before_images(self, transact_items, DynamoType)
            try:
                moto_transact(self, transact_items)
            except BaseException:
                _restore(images)
                raise

    moto_send_message = SQSBackend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_sending, "active", False)
        _sending.active = True
        try:
            return moto_send_message(self, *args, **kwargs)
        finally:
            _sending.active = outer

    moto_call_action = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return moto_call_action(self)

    _replace(backend_module, "copy", _CopyKeepingTables(Table))
    _replace(backend_module.DynamoDBBackend, "transact_write_items", transact_write_items)
    _replace(Item, "__new__", staticmethod(_untracked_new))
    _replace(DynamoHandler, "call_action", call_action)
    _replace(SQSBackend, "send_message", send_message)
    for count in _QUEUE_COUNTS:
        _replace(Queue, count, _counted_unless_sending(getattr(Queue, count)))
    _patched = True


def command(python: str, host: str, port: int) -> list[str]:
    """How local mode starts the embedded AWS: moto_server's arguments, run through this module."""
    return [python, "-m", "local_mode.embedded_aws", "-H", host, "-p", str(port)]


def main(argv: Sequence[str] | None = None) -> None:
    """Patch moto, then run moto_server's own command line with ``argv`` (default: this process's)."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    patch_moto()
    # where moto answers differently from AWS and Terraform would stall or fail (local_mode.moto_fixes)
    moto_fixes.apply()
    # restore the core stacks' last apply, and write a snapshot when local mode asks (local_mode.snapshot)
    snapshot.install_from_environment()
    from moto.server import main as moto_server  # noqa: PLC0415

    moto_server(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
