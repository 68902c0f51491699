"""Alert delivery: routing, the notification outbox, the dispatcher, channels and lifecycle.

The worker stores each alert with its pending notifications in one transaction
(`outbox.enqueuer`); `casewatch dispatch` sends them (`dispatcher`). See docs/delivery.md.
"""
