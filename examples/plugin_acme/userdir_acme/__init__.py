"""Acme provider plugin for userdir: the worked example of docs/writing-a-plugin.md.

Registered under the ``userdir`` entry-point group as ``acme``; see
:mod:`userdir_acme.adapter` for the adapter class, :mod:`userdir_acme.wire` for
Acme's JSON envelopes and :mod:`userdir_acme.sandbox` for the emulator.
"""
