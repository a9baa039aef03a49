"""The catalogue's operations in the served document, with their parameters and schemas."""

from __future__ import annotations

from ils_gateway.api.openapi import build_openapi

P = "/v1/tenants/{tenant}/catalog"


def test_catalog_operations_are_documented() -> None:
    doc = build_openapi()
    search = doc["paths"][f"{P}/search"]["get"]
    names = {p["name"] for p in search["parameters"] if p["in"] == "query"}
    assert names == {"keyword", "title", "author", "isbn", "material_type", "page", "per_page",
                     "sort"}  # fmt: skip
    assert "security" not in search and "429" in search["responses"]
    record = doc["paths"][f"{P}/records/{{record_id}}"]["get"]
    assert record["responses"]["200"]["content"]["application/json"]["schema"]
    hold = doc["paths"][f"{P}/records/{{record_id}}/holds"]["post"]
    assert hold["security"] and hold["requestBody"]["required"] is True
    schemas = doc["components"]["schemas"]
    copy = schemas["Copy"]["properties"]
    assert {"status", "status_label", "due_date", "hold_queue_length"} <= set(copy)
    record_schema = schemas["CatalogRecord"]["properties"]
    assert {"availability", "material_type_label", "title_reading"} <= set(record_schema)
