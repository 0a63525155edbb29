"""The project's common package: config, database and tenant scoping, auth, events, bus, web layout."""
