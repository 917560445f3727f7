"""Rendering against a shadow database (``--shadow``): what offline mode cannot render. Also the
database clients and driver URLs (``clients``) that the shadow, rehearse, status and the tests use."""

from .databases import ShadowDatabase, ShadowError, ShadowSpec, open_shadow, servers_ahead, throwaway_database
from .reads import tables_read

__all__ = ["ShadowDatabase", "ShadowError", "ShadowSpec", "open_shadow", "servers_ahead", "tables_read",
           "throwaway_database"]
