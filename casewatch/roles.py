"""What one `casewatch worker` process runs (its `--role`): light, so the CLI parses without Faust."""

from typing import Literal, get_args

Role = Literal["all", "correlate", "store"]
ROLES: tuple[Role, ...] = get_args(Role)
