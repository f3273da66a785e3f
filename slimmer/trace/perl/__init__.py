"""Perl: which modules, XS objects and programs a Perl program loads, read from its code.

source.py (code without POD, here-documents and comments), statements.py (the statements
that load code or run programs), implicit.py (modules perl loads for a feature), inc.py
(`@INC` of the image's perl), cmdline.py (perl's switches), tracer.py (the plug-in).
"""
