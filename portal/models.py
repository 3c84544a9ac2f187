"""Every area's models, imported in one place so that Alembic sees the whole schema."""

from portal.accounts.models import User  # noqa: F401
from portal.regions.models import Population, Region  # noqa: F401
