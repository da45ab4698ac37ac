"""Freddy (Aitronos) provider plugin for userdir.

Registered under the ``userdir`` entry-point group as ``freddy``; see
:mod:`userdir_freddy.adapter` for :class:`~userdir_freddy.adapter.FreddyAdapter`,
:mod:`userdir_freddy.wire` for the error envelope and :mod:`userdir_freddy.sandbox`
for the emulator.
"""
