"""Validates JUnit XML files against tests/peers/junit.xsd: prints `valid` or the first reason
and exits 1. Used by the integration tests (`xmlschema` from requirements.txt)."""

import pathlib
import sys

import xmlschema

schema = xmlschema.XMLSchema(str(pathlib.Path(__file__).with_name("junit.xsd")))
for path in sys.argv[1:]:
    try:
        schema.validate(path)
    except xmlschema.XMLSchemaException as error:
        print(f"{path}: {error}")
        sys.exit(1)
print("valid")
