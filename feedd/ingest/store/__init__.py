"""The state database: the one owner of SQLite (database) and of the record format (records), and how worker
processes read it (workers)."""

from feedd.ingest.store.database import IN_MEMORY, SCHEMA, UNREADABLE, SlugRow, Store, code_fingerprint, fingerprint
from feedd.ingest.store.records import Row, from_record, slim, to_record, to_row
from feedd.ingest.store.workers import Wanted, compare_with_index, parse_into, parse_rows, read_items

__all__ = [
    "IN_MEMORY",
    "SCHEMA",
    "UNREADABLE",
    "Row",
    "SlugRow",
    "Store",
    "Wanted",
    "code_fingerprint",
    "compare_with_index",
    "fingerprint",
    "from_record",
    "parse_into",
    "parse_rows",
    "read_items",
    "slim",
    "to_record",
    "to_row",
]
