"""Clinic practice management: the workstation application.

Layers (see docs/architecture.md): ui -> services -> (store, security, audit, fhir, sync,
documents) -> domain. Nothing below ``ui`` imports Qt.
"""

__version__ = "0.1.0"
