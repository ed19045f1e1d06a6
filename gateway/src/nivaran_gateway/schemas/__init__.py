"""API schemas (pydantic), kept apart from the protos; conversion happens only here, at the edge."""
