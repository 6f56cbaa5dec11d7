"""A snapshot of the embedded AWS right after Terraform applied the core stacks, so the next start restores it.

moto keeps everything in memory, and applying the two core stacks with Terraform takes minutes, mostly the
AWS provider's own waits (SQS queues, S3 lifecycles, KMS). The result of that apply depends only on the
synthesized stacks and the moto version; local mode therefore keeps it: once the apply succeeded, the
launcher asks the embedded AWS to write the state of the services the core stacks use (``SIGUSR1`` with
:data:`DUMP_VARIABLE` set), and the next start with the same fingerprint loads it before serving
(:data:`RESTORE_VARIABLE`). The broker stack's Terraform state lives in the embedded S3, so it comes back
with everything it describes; the bootstrap stack's local state file stays in the working directory.

moto has no persistence of its own (it offers a request recorder, whose replay makes new random ids that
no longer match the recorded Terraform state), so this pickles moto's backends. Objects pickle as they
are, except thread locks (recreated) and private keys (kept as PEM). Anything else that does not pickle
makes the dump fail, and local mode simply applies the core with Terraform again next time.
"""

from __future__ import annotations

import copyreg
import logging
import os
import pickle
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

DUMP_VARIABLE = "BROKER_EMBEDDED_AWS_DUMP"
RESTORE_VARIABLE = "BROKER_EMBEDDED_AWS_RESTORE"
#: every service the core stacks (local variant) create resources in
CORE_SERVICES = ("apigateway", "cognito-idp", "dynamodb", "ecr", "events", "iam", "kms", "logs", "s3", "sqs", "sts")


def _register_reducers() -> None:
    """Teach pickle the few moto attributes it cannot take as they are."""
    copyreg.pickle(type(threading.Lock()), lambda _lock: (threading.Lock, ()))
    copyreg.pickle(type(threading.RLock()), lambda _lock: (threading.RLock, ()))
    from cryptography.hazmat.bindings._rust import openssl  # noqa: PLC0415
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    def private_key(key: Any) -> tuple[Any, tuple[bytes]]:
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return _load_private_key, (pem,)

    # KMS and Cognito keep their keys as cryptography's (Rust) key objects
    copyreg.pickle(openssl.rsa.RSAPrivateKey, private_key)
    copyreg.pickle(openssl.ec.ECPrivateKey, private_key)


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    return serialization.load_pem_private_key(pem, password=None)


def dump(path: Path) -> None:
    """Write the core services' state to ``path`` (written aside, then renamed: a reader never sees half)."""
    from moto.backends import get_backend  # noqa: PLC0415

    _register_reducers()
    state = {service: dict(get_backend(service)) for service in CORE_SERVICES}  # type: ignore[call-overload]
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(path)


def restore(path: Path) -> None:
    """Load a :func:`dump` into this process's moto before it serves anything."""
    from moto.backends import get_backend  # noqa: PLC0415

    _register_reducers()
    state = pickle.loads(path.read_bytes())  # noqa: S301  (see the module docstring)
    for service, accounts in state.items():
        get_backend(service).update(accounts)


def install_from_environment() -> None:
    """In the embedded AWS process: restore if asked, and dump on ``SIGUSR1`` if a dump path is given."""
    restore_from = os.environ.get(RESTORE_VARIABLE)
    if restore_from:
        restore(Path(restore_from))
        log.info("embedded AWS restored from %s", restore_from)
    dump_to = os.environ.get(DUMP_VARIABLE)
    if dump_to:

        def on_signal(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            try:
                dump(Path(dump_to))
                log.info("embedded AWS state written to %s", dump_to)
            except Exception:
                # no snapshot: the next start applies the core stacks with Terraform again
                log.exception("could not write the embedded AWS state")
                Path(dump_to + ".failed").write_text("see the embedded AWS log\n")

        signal.signal(signal.SIGUSR1, on_signal)
