"""`--probe`: run the fat image once under a tracer and join what it touches to the static closure.

bundle.py (the tracer: the host's Debian strace with its own loader and libraries, bind-mounted
read-only), run.py (the traced run: a batch command, or a service run as `--verify-spec` says),
stracelog.py (strace's output as accesses), touched.py (accesses resolved in the image),
differences.py (what the probe saw that static tracing missed, and what it kept unused).
"""
