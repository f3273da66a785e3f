"""Images in the transports skopeo names, each format a module that both reads and writes.

Layers, bottom to top (each imports only those below it):

    errors, progress                      (slimmer/)
    blob, digest, compression, atomic     byte ranges; Digest/Descriptor; gzip/zstd/...; all-or-nothing writes
    mediatypes, reference                 media types; TRANSPORT:DETAILS references
    store                                 named files in a tar or a directory: read in place, written deterministically
    model, layers                         Image/Layer/OutputImage; layers verified and uncompressed
    ocilayout -> dockerarchive -> daemon  the formats (a Docker 25+ archive holds an OCI layout; the daemon
                                          speaks docker-archive)
    transports                            a reference to the module that reads or writes it
"""
