"""Exporters of the registry to other formats: statistics packages, CDISC ODM, HL7 FHIR."""
