"""What the domain apps hand to pages about things that happened."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Activity:
    """One thing that happened in a project, for a dashboard's recent-activity list."""

    project_id: int
    at: datetime
    who: str
    text: str
    url: str = ""
