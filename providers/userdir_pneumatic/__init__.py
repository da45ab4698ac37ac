"""Pneumatic provider plugin for userdir.

Registered under the ``userdir`` entry-point group as ``pneumatic``; see
:mod:`userdir_pneumatic.adapter` for the adapter class,
:mod:`userdir_pneumatic.wire` for the JSON models and
:mod:`userdir_pneumatic.sandbox` for the emulator.
"""
