"""The KYB checks. Importing this package registers every check with ``checks.registry``."""

from checks.kyb import (  # noqa: F401 - imported for their @check registrations
    blacklist,
    country,
    domain,
    email,
    iban,
    ownership,
    pricing,
    screening,
    turnover,
)
