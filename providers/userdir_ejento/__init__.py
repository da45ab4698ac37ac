"""Ejento (V2 Legacy) provider plugin for userdir.

Registered under the ``userdir`` entry-point group as ``ejento``; see
:mod:`userdir_ejento.adapter` for :class:`~userdir_ejento.adapter.EjentoAdapter`
(and which defaults are inferred), :mod:`userdir_ejento.wire` for the JSON models
and :mod:`userdir_ejento.sandbox` for the emulator.
"""
