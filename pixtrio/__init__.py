"""Pixtrio, a photo and video sharing server on trio.

Layers, each importing only those below it (checked by import-linter): `cli` and `runtime`
compose a process; `edge` speaks HTTP and websockets; `features` hold the domain rules;
`actors` are the long-lived tasks; `storage`, `protocol` and `codecs` are the ground floor.
"""
