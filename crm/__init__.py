"""The platform: the wiring of the five services (the demo activity; later the `crm` command and the embedded runner)."""
