"""Every area's models, imported in one place so that Alembic sees the whole schema."""

from portal.accounts.models import ApiToken, User  # noqa: F401
from portal.accounts.usage import UsageAlert, UsageDay  # noqa: F401
from portal.activity.models import ActivityEvent, DownloadMark  # noqa: F401
from portal.applications.models import Application, ApplicationFile, ApplicationTransition  # noqa: F401
from portal.audit.models import AuditChain, AuditEvent  # noqa: F401
from portal.catalogue.holds import PreviewHold  # noqa: F401
from portal.catalogue.ratings import DatasetRating  # noqa: F401
from portal.catalogue.models import (  # noqa: F401
    AccessRequest,
    Dataset,
    DatasetSearch,
    Department,
    Licence,
    Resource,
    Tag,
    Theme,
)
from portal.contest.models import Appeal, Assignment, Contest, Criterion, Entry, Round, Score, Team  # noqa: F401
from portal.feedback.models import DataRequest, DataRequestComment, DataRequestVote, ErrorReport  # noqa: F401
from portal.jobs.models import JobRecord  # noqa: F401
from portal.metrics.models import DailyActivity  # noqa: F401
from portal.notices.models import Notification  # noqa: F401
from portal.regions.models import Population, Region  # noqa: F401
from portal.rows.models import RowTable  # noqa: F401
from portal.sync.models import SyncError, SyncLock, SyncRun, SyncSource  # noqa: F401
