"""The message bus on kombu: topology, transactional outbox and relay, consumers with inbox and DLQ."""
from shared.bus.outbox import emit
from shared.bus.tables import bus_tables

__all__ = ["bus_tables", "emit"]
