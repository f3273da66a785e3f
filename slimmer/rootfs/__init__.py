"""The image's root filesystem: layers merged with the OCI whiteout rules, read on demand."""
