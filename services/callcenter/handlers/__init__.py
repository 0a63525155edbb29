"""Call-center use cases, one function per use case, run inside the caller's unit of work."""
from shared.events import known_types

# The payload registry loads every module lazily, but only while it is empty: load them all now, then
# make sure ours is there even if someone registered a single module first.
known_types()
import shared.events.callcenter  # noqa: E402,F401
