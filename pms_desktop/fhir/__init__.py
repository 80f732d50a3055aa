"""Mapping between local records and FHIR R4 resources (fhir.resources R4B models)."""
