"""Images as sources and sinks: reading and writing them in the transports skopeo names."""
