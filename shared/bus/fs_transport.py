"""kombu's filesystem transport, with atomic writes: the embedded mode's bus.

kombu writes a message file in place, so a consumer in another thread or process can pick it up
half-written and fail to decode it. Here a message is written under a hidden temporary name and
renamed into place (atomic on POSIX), so readers only ever see whole messages. File names start
with the wall-clock time in nanoseconds so that the queue order holds across processes.
"""
from __future__ import annotations

import os
import time
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{time.time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        tmp = os.path.join(self.data_folder_out, f".{name}.tmp")  # never matches a queue's pattern
        try:
            with open(tmp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
