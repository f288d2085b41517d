"""The IP lookup: a MaxMind-format City database (GeoLite2 City or DB-IP City Lite, which the
retailer supplies: ``ASUSUAL_GEOIP_DATABASE``, CDK context ``geoip_database``) behind the
``asusual.iplocation.Locator`` port.

The database is opened once per process (memory-mapped: the C extension's MODE_MMAP_EXT where
it is installed, else pure Python) and read by every lookup; a path that is set but does not open
refuses to start the function (:class:`GeoipDatabaseError`), so a deployment never runs
silently without the place it was configured to know."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from asusual.iplocation import IpLocation, from_record
from asusual.observability import MetricUnit, logger, metrics

# what a City database's type names (GeoLite2-City, GeoIP2-City, DBIP-City-Lite, DBIP-Location...)
CITY_TYPES = ("city", "location")


class GeoipDatabaseError(RuntimeError):
    """ASUSUAL_GEOIP_DATABASE names a file that is not a MaxMind-format City database."""


# places of the latest addresses looked up, per container: a visitor's page views, and a batch's
# messages from one shop server's visitors, come from few addresses (an entry is ~1 KB)
LOOKUP_CACHE = 4096


class MaxMindLocator:
    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.locate = lru_cache(maxsize=LOOKUP_CACHE)(self._locate)

    def _locate(self, address: str) -> IpLocation | None:
        from maxminddb import InvalidDatabaseError  # imported by open_locator already

        try:
            record = self.reader.get(address)
        except ValueError:
            return None  # an IPv6 address in an IPv4-only database, or no address at all
        except (InvalidDatabaseError, OSError):
            # a file changed or cut under the mapping: the event goes on without a place
            metrics.add_metric(name="GeoipLookupsFailed", unit=MetricUnit.Count, value=1)
            logger.warning("the IP location database could not be read")
            return None
        return from_record(record)


@cache
def open_locator(path: str) -> MaxMindLocator:
    """The locator of the database at ``path``, opened once per process; GeoipDatabaseError
    naming the path and the reason when it is missing, unreadable or not a City database."""
    import maxminddb  # here, not at import: a deployment without a database pays nothing at cold start
    from maxminddb import InvalidDatabaseError

    try:
        reader = maxminddb.open_database(str(Path(path)), maxminddb.MODE_AUTO)
    except (OSError, ValueError, InvalidDatabaseError) as exc:
        raise GeoipDatabaseError(
            f"ASUSUAL_GEOIP_DATABASE={path!r} does not open as a MaxMind database: {exc}"
        ) from exc
    kind = str(reader.metadata().database_type)
    if not any(word in kind.lower() for word in CITY_TYPES):
        reader.close()
        raise GeoipDatabaseError(
            f"ASUSUAL_GEOIP_DATABASE={path!r} is a {kind!r} database; a City database "
            "(GeoLite2-City, GeoIP2-City, DB-IP City Lite) is needed"
        )
    return MaxMindLocator(reader)


def locator(path: str | None) -> MaxMindLocator | None:
    """The configured locator, or None when no database is set (visitors are then not located)."""
    return open_locator(path) if path else None
