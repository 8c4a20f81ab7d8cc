"""The multi-centre web application (``ilp serve``): pages and the JSON API under ``/api/v1``."""
