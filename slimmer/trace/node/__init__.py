"""Node.js: the modules a `node` process loads, found statically in the image.

One small module per idea:

- options.py: the node command line and NODE_OPTIONS (what loads code, which word is the program)
- runtime.py: a node binary and its compiled-in build configuration (global folders, built-ins
  shipped as files, ABI)
- packagejson.py, exportsmap.py, resolve.py: Node's resolution algorithm (CommonJS and ESM,
  `exports`/`imports` with conditions, `node_modules`, NODE_PATH, symlinked packages)
- parse.py, bindings.py, evaluate.py, dependencies.py: what a module requires, imports, spawns
  and reads, from its syntax tree (tree-sitter-javascript)
- patterns.py: names built at run time, matched as far as their known text goes
- addons.py: native `.node` addons found by loaders at run time
- packagefiles.py: what of a package is kept when all of it may be loaded
- scripts.py: package.json scripts run by npm, yarn, pnpm, npx and `node --run`
- reasons.py: the sentences of `slim why` and the warnings
- tracer.py: the closure plug-in and the argv handlers, wiring the above
"""
