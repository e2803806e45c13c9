"""A Salesforce-compatible REST API over the local org (read-only), for simple-salesforce and curl.

``crm_core.api.app.create_app(ApiSettings(...))`` builds the ASGI app; ``python -m crm_core serve``
runs it over HTTPS with uvicorn. See ``docs/api.md``.
"""
