"""The rules of the domain as plain values and functions: no Flask, no SQLAlchemy, no database.

Campaign status from the clock, lifecycle rules, caps and their windows, accepted dates, who may
act on whom, the enums and the refusal type live here and are tested in milliseconds
(tests/domain). Everything else imports them; they import nothing of ThiĐua (docs/ARCHITECTURE.md).
"""
