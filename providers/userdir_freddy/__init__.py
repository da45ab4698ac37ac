"""Freddy (Aitronos) provider plugin for userdir.

Registered under the ``userdir`` entry-point group as ``freddy``; see
:mod:`userdir_freddy.adapter` for the hooks, :mod:`userdir_freddy.wire` for the
JSON models and :mod:`userdir_freddy.sandbox` for the emulator.
"""
