"""Images in the transports skopeo names, each format a module that both reads and writes.

From the bottom up; a module imports only modules listed before it:

    blob, digest, compression, atomic  byte ranges of files; Digest and Descriptor; gzip/zstd/...; whole-or-nothing
    mediatypes, reference              media types; TRANSPORT:DETAILS references
    store                              named files of a tar or a directory: read in place, written deterministically
    model                              Image and Layer as read, OutputImage to write
    layers                             layers verified and uncompressed
    ocilayout, dockerarchive, daemon   the formats (a Docker 25+ archive holds an OCI layout; the daemon speaks
                                       docker-archive)
    transports                         which format module reads or writes a reference
"""
