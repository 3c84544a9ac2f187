"""Machine access to the catalogue: the JSON API (/api/v1), a CKAN-compatible Action API
(/api/3/action) and a DCAT catalogue (/catalog.jsonld, /catalog.ttl)."""
