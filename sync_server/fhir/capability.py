"""The CapabilityStatement served at ``/fhir/metadata``: what this server really does.

Built from the same tables the server runs on (the search parameter table and the list of
storable types), so that it cannot drift from the behaviour. Validated with the R4B model.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from sync_server.fhir.interactions import READ_ONLY_TYPES
from sync_server.fhir.search_params import PARAMS

_KIND_TYPE = {"string": "string", "token": "token", "reference": "reference", "date": "date"}
_COMMON = [{"name": "_id", "type": "token"}, {"name": "_lastUpdated", "type": "date"}]
# The types a workstation syncs and a hospital reads, in the statement's order.
CORE_TYPES = ("Patient", "Practitioner", "PractitionerRole", "Organization", "Location",
              "Appointment", "Encounter", "Observation", "DiagnosticReport", "Condition",
              "AllergyIntolerance", "MedicationRequest", "Procedure", "Immunization",
              "DocumentReference", "Invoice", "ChargeItem", "Account", "Coverage", "Consent",
              "Basic", "Binary", "Provenance", "AuditEvent")


def _resource(resource_type: str) -> dict[str, Any]:
    read_only = resource_type in READ_ONLY_TYPES
    codes = ["read", "vread", "history-instance", "history-type", "search-type"]
    if not read_only:
        codes += ["create", "update", "delete"]
    params = _COMMON + [{"name": name, "type": _KIND_TYPE[p.kind]}
                        for name, p in PARAMS.get(resource_type, {}).items()]
    return {
        "type": resource_type,
        "interaction": [{"code": c} for c in codes],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": not read_only,
        "conditionalCreate": not read_only,
        "conditionalDelete": "not-supported",
        "searchParam": params,
    }


@lru_cache(maxsize=4)
def capability_statement(base: str, software_version: str) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2024-01-01",
        "kind": "instance",
        "software": {"name": "pms-sync-server", "version": software_version},
        "implementation": {"description": "Clinic PMS central FHIR store", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": False,
                "description": "OAuth2 client credentials (POST /auth/token) or a device "
                               "credential; send Authorization: Bearer TOKEN",
            },
            "resource": [_resource(t) for t in CORE_TYPES],
            "interaction": [{"code": "transaction"}, {"code": "batch"},
                            {"code": "history-system"}],
        }],
    }
    CapabilityStatement.model_validate(statement)
    return statement
