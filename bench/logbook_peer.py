"""The peer of bench/logbook-peer.ts: Python Logbook's TicketingHandler on the same workload.

Usage: python logbook_peer.py COUNT BUDGET_SECONDS DB_PATH

Logs up to COUNT errors from twenty call sites (the same messages and `extra` as
bench/call-sites.ts) through logbook.ticketing.TicketingHandler into a SQLite file,
stopping early once BUDGET_SECONDS have passed: Logbook writes and commits every record
on the logging thread, so at its pace the full count could take many minutes. Then it
checks the tickets and prints one JSON line: occurrences logged, seconds, occurrences/s,
tickets, the sum of their occurrence counts, and the versions used.
"""

import json
import sys
import time
from importlib.metadata import version

import logbook
from logbook.ticketing import TicketingHandler

# One source line per call site: Logbook's hash is channel, file, line and level, so
# each line is one ticket, as in bench/call-sites.ts.
# fmt: off
CALL_SITES = [
    lambda log, i: log.error("payment for order A-{} failed", i, extra={"orderId": f"A-{i}", "amountCents": 1299 + i % 50}),
    lambda log, i: log.error("login for user {} rejected by the IdP", i % 1000, extra={"userId": i % 1000, "attempt": i % 3}),
    lambda log, i: log.error("stock lookup for sku-{} timed out", i % 200, extra={"sku": f"sku-{i % 200}", "warehouse": "ber-1"}),
    lambda log, i: log.error("cart c{} could not be saved", i, extra={"cartId": f"c{i}", "items": i % 7}),
    lambda log, i: log.error("coupon SAVE{} is unknown", i % 30, extra={"coupon": f"SAVE{i % 30}"}),
    lambda log, i: log.error("shipping label {} not created", i, extra={"carrier": "dhl", "parcel": i}),
    lambda log, i: log.error("invoice INV-{} failed to render", i, extra={"invoice": f"INV-{i}", "pages": 1 + i % 4}),
    lambda log, i: log.error("mail to user{} bounced", i % 1000, extra={"to": f"user{i % 1000}@example.org"}),
    lambda log, i: log.error("search backend returned {}", 500 + i % 4, extra={"query": "red shoes", "page": i % 10}),
    lambda log, i: log.error("exchange rate feed stale for {}s", i % 600, extra={"currency": "EUR", "rate": 1.08}),
    lambda log, i: log.error("webhook evt_{} signature mismatch", i, extra={"webhook": "stripe", "event": f"evt_{i}"}),
    lambda log, i: log.error("reindex of shard {} aborted", i % 16, extra={"job": "reindex", "shard": i % 16}),
    lambda log, i: log.error("thumbnail of img-{}.jpg failed", i, extra={"image": f"img-{i}.jpg", "bytes": 20000 + i}),
    lambda log, i: log.error("db pool exhausted ({} waiting)", i % 40, extra={"pool": "orders", "waiting": i % 40}),
    lambda log, i: log.error("cache node {} unreachable", i % 3, extra={"key": f"session:{i}", "node": i % 3}),
    lambda log, i: log.error("review {} rejected by moderation", i, extra={"review": i, "stars": 1 + i % 5}),
    lambda log, i: log.error("address check failed", extra={"address": {"zip": str(10000 + i % 90000), "country": "DE"}}),
    lambda log, i: log.error("report export of {} rows failed", i * 10, extra={"export": "csv", "rows": i * 10}),
    lambda log, i: log.error("feature flag service slow: {}ms", 900 + i % 300, extra={"flag": "new-checkout", "user": i % 1000}),
    lambda log, i: log.error("refund R-{} declined", i, extra={"refund": f"R-{i}", "amountCents": 500 + i % 100}),
]
# fmt: on


def main() -> None:
    count, budget, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    # The handler creates its tables here, before the clock starts; the TS side opens its
    # store before its clock too.
    handler = TicketingHandler("sqlite:///" + path, app_id="bench-peer")
    log = logbook.Logger("shop.api")
    logged = 0
    with handler.applicationbound():
        start = time.perf_counter()
        deadline = start + budget
        for i in range(count):
            CALL_SITES[i % len(CALL_SITES)](log, i)
            logged += 1
            if time.perf_counter() >= deadline:
                break
        # Logbook writes inside the logging call: when the loop ends, everything is written.
        seconds = time.perf_counter() - start
    tickets = handler.db.get_tickets(limit=1000)
    print(
        json.dumps(
            {
                "logged": logged,
                "seconds": seconds,
                "rate": logged / seconds,
                "tickets": len(tickets),
                "counted": sum(t.occurrence_count for t in tickets),
                "logbook": version("Logbook"),
                "sqlalchemy": version("SQLAlchemy"),
                "python": sys.version.split()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
