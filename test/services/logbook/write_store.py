"""Write a Logbook ticketing store with the real Logbook, for the import tests.

    python write_store.py URI [--prefix P] [--app-id A] [--round first|more] [--site FILE:LINE]

URI is an SQLAlchemy URI: sqlite:////abs/path.db or postgresql+psycopg2://...
Every record goes through Logbook's own TicketingHandler (its hash, its
record_to_dict, its SQL backend). Round `first` makes five tickets of four
channels and four levels, with repeated occurrences, an exception and a
solved ticket; round `more` adds occurrences to a ticket of the first round,
one to the solved ticket (which Logbook then opens again) and a new ticket. --site also logs two ERROR records on channel `shop.js`
whose call site is FILE:LINE (a JavaScript file of the test: the record is
made from a dict, as Logbook's own queue handlers rebuild records, since no
Python frame can sit in that file).

Prints, as JSON on stdout, the store as Logbook's own backend reads it back.
"""

import argparse
import json
import sys

import logbook
from logbook.ticketing import TicketingHandler

parser = argparse.ArgumentParser()
parser.add_argument("uri")
parser.add_argument("--prefix", default="logbook_")
parser.add_argument("--app-id", default="generic")
parser.add_argument("--round", choices=["first", "more"], default="first")
parser.add_argument("--site")
options = parser.parse_args()

if options.uri.startswith("postgresql"):
    # Logbook's emit() hands the hash to its SQL backend as bytes, which
    # psycopg2 sends as bytea: PostgreSQL then refuses to compare or store it
    # in the varchar record_hash column ("operator does not exist: character
    # varying = bytea"), so no Logbook release can write a PostgreSQL store
    # as it is. The smallest adaptation, in this process only and leaving
    # Logbook's code untouched: tell psycopg2 to send bytes (and the Binary
    # wrapper SQLAlchemy puts around bytes in comparisons) as text. Logbook's
    # tables have no binary column, so nothing else changes; the store then
    # holds exactly what Logbook would write if it passed the hash as str.
    import psycopg2.extensions as ext

    def as_text(value):
        raw = value.adapted if isinstance(value, ext.Binary) else value
        return ext.QuotedString(bytes(raw).decode("ascii"))

    ext.register_adapter(bytes, as_text)
    ext.register_adapter(ext.Binary, as_text)

handler = TicketingHandler(
    options.uri, app_id=options.app_id, table_prefix=options.prefix, level=logbook.NOTICE
)
orders = logbook.Logger("shop.orders")
payments = logbook.Logger("shop.payments")
cart = logbook.Logger("shop.cart")
search = logbook.Logger("shop.search")


def charge(amount):
    return amount / 0


def fail_order(order):
    # One call site for both rounds: one ticket.
    orders.error("order {} failed: {reason}", order, reason="out of stock")


def empty_cart():
    cart.warning("cart {} is empty", "c-1")


def first_round():
    for order in (101, 102, 103):
        fail_order(order)
    for amount in (5, 7):
        try:
            charge(amount)
        except ZeroDivisionError:
            payments.critical("charging {} failed", amount, exc_info=True)
    empty_cart()
    search.notice("slow search: {} ms", 1234)
    search.info("below the handler's level: never stored")
    solved = [t for t in handler.db.get_tickets() if t.channel == "shop.cart"]
    handler.db.solve_ticket(solved[0].ticket_id)


def more_round():
    for order in (104, 105):
        fail_order(order)
    orders.warning("order {} is late", 106)
    # The solved ticket recurs: Logbook opens it again.
    empty_cart()


def site_records(site):
    filename, _, lineno = site.rpartition(":")
    for n in (1, 2):
        record = logbook.LogRecord.from_dict(
            {
                "channel": "shop.js",
                "level": logbook.ERROR,
                "msg": "payment {} failed in the JavaScript service",
                "args": [n],
                "kwargs": {},
                "extra": {},
                "time": logbook.helpers.format_iso8601(logbook.helpers.datetime_utcnow()),
                "filename": filename,
                "lineno": int(lineno),
                "func_name": "chargeCard",
                "module": "payments",
                "process": None,
                "thread": None,
                "thread_name": None,
                "process_name": None,
                "exception_name": None,
                "exception_message": None,
                "formatted_exception": None,
                "heavy_initialized": True,
                "information_pulled": True,
                "frame_correction": 0,
            }
        )
        handler.handle(record)


with handler.applicationbound():
    if options.round == "first":
        first_round()
    else:
        more_round()
    if options.site:
        site_records(options.site)


def iso(value):
    return None if value is None else value.isoformat()


tickets = []
for ticket in handler.db.get_tickets(order_by="ticket_id", limit=1000):
    occurrences = handler.db.get_occurrences(ticket.ticket_id, order_by="occurrence_id", limit=1000)
    hash = ticket.record_hash
    tickets.append(
        {
            "ticket_id": ticket.ticket_id,
            "record_hash": hash.decode("ascii") if isinstance(hash, bytes) else hash,
            "level": ticket.level,
            "channel": ticket.channel,
            "location": ticket.location,
            "module": ticket.module,
            "last_occurrence_time": iso(ticket.last_occurrence_time),
            "occurrence_count": ticket.occurrence_count,
            "solved": bool(ticket.solved),
            "app_id": ticket.app_id,
            "occurrences": [
                {
                    "occurrence_id": o.occurrence_id,
                    "time": iso(o.time),
                    "message": o.message,
                    "msg": o.msg,
                    "args": list(o.args),
                    "kwargs": dict(o.kwargs),
                    "filename": o.filename,
                    "lineno": o.lineno,
                    "func_name": o.func_name,
                    "exception_name": o.exception_name,
                    "exception_message": o.exception_message,
                }
                for o in occurrences
            ],
        }
    )
json.dump({"tickets": tickets}, sys.stdout)
