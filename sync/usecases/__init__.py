"""The features, one module each, as functions of the ports that return values.

Every use case takes the ports it calls (a CRM, the storage roles of :mod:`sync.ports` such as
``LinkStore`` or ``AuditLog``, the clock), never the whole store or the engine; the facade wires
them. It checks who may do it, does it, and returns a frozen value
whose statuses, actions and settings are StrEnums. None of them words anything for a person:
``bot/blocks`` turns the values into Slack messages and ``bot/terminal`` into CLI text, so both
say the same thing in their own form. Refusals are :class:`~sync.usecases.common.Refused` with a
one-line reason; the reason is plain text, with no Slack markup and no command names.

Modules: ``status`` (the status board, the scheduler's liveness and the health figures),
``explain`` (status ITEM), ``threshold`` (the impact of a threshold), ``approvals`` (settings
change requests), ``conflicts``, ``tombstones`` (restore), ``fields``, ``digest`` (the scheduled
summary and the failure alert streak), ``history`` (runs and audit trail), ``markers`` (request
markers and expired locks), ``settings`` (the stored settings against the environment's, and a
change from the command line). Running a sync and pushing records are the engine's
(:mod:`sync.engine`); :class:`sync.service.SyncService` puts them all behind one facade.
"""
