"""Node's built-in modules: compiled into the runtime, so a specifier naming one needs no file.

The names are `require('module').builtinModules` of Node 18 to 24 (the same list in all of them
but for `inspector/promises`, added in 20). Any `node:` specifier is a built-in (Node refuses
an unknown one), and some exist only with the prefix (`node:test`, `node:sqlite`, `node:sea`).
"""

from __future__ import annotations

BUILTIN_MODULES = frozenset({
    "_http_agent", "_http_client", "_http_common", "_http_incoming", "_http_outgoing", "_http_server",
    "_stream_duplex", "_stream_passthrough", "_stream_readable", "_stream_transform", "_stream_wrap",
    "_stream_writable", "_tls_common", "_tls_wrap", "assert", "assert/strict", "async_hooks", "buffer",
    "child_process", "cluster", "console", "constants", "crypto", "dgram", "diagnostics_channel", "dns",
    "dns/promises", "domain", "events", "fs", "fs/promises", "http", "http2", "https", "inspector",
    "inspector/promises", "module", "net", "os", "path", "path/posix", "path/win32", "perf_hooks", "process",
    "punycode", "querystring", "readline", "readline/promises", "repl", "stream", "stream/consumers",
    "stream/promises", "stream/web", "string_decoder", "sys", "timers", "timers/promises", "tls",
    "trace_events", "tty", "url", "util", "util/types", "v8", "vm", "wasi", "worker_threads", "zlib",
})


def is_builtin(specifier: str) -> bool:
    """`fs`, `node:fs`, `node:test`: served by the runtime. (`punycode/` with a slash is the npm package.)"""
    return specifier.startswith("node:") or specifier in BUILTIN_MODULES


def builtin_name(specifier: str) -> str:
    """The module a built-in specifier names, without the `node:` prefix."""
    return specifier.removeprefix("node:")
