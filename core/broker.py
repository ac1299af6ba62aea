"""The embedded broker: kombu's filesystem transport, with every file written whole before any
reader can see it.

Kombu's own transport creates a message file and then writes into it, and rewrites an
exchange's binding table in place; a worker listing the folder in between reads an empty file
and stops with a JSON error (celery/kombu#1551). Here each file is written under a name no
reader picks up, then renamed into place, which POSIX makes atomic."""

import os
import uuid
from pathlib import Path

from kombu.transport import filesystem
from kombu.utils.json import dumps


def _write_whole(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    with open(partial, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(filesystem.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_whole(Path(self.data_folder_out) / name, dumps(payload).encode())
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add {name!r} to the queue folder") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        table = self._exchange_file(exchange)
        lock_file = table.with_name(f".{table.name}.lock")
        with open(lock_file, "a") as lock:  # one binder at a time; readers need no lock
            filesystem.lock(lock, filesystem.LOCK_EX)
            try:
                queues = self.get_table(exchange) if table.exists() else []
                if binding not in queues:
                    queues.insert(0, binding)
                _write_whole(table, dumps([list(q) for q in queues]).encode())
            finally:
                filesystem.unlock(lock)


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self):
        # Folders have no host: with kombu's default one, every connection of the web, worker
        # and scheduler logged "No hostname was supplied. Reverting to default 'localhost'".
        return {}
