"""Channels: one module each behind one small protocol (`channels.base.Channel`)."""

from collections.abc import Callable

from casewatch.delivery.channels.base import Batch, Channel, SendResult
from casewatch.delivery.channels.console import ConsoleChannel
from casewatch.delivery.channels.email import EmailChannel
from casewatch.delivery.channels.teams import TeamsChannel
from casewatch.delivery.channels.webhook import WebhookChannel
from casewatch.delivery.config import Receiver, RoutingConfig
from casewatch.delivery.urls import check_receiver_url
from casewatch.settings import SettingsError

# Resolves the name of an environment variable the configuration refers to (a secret).
SecretLookup = Callable[[str], str]


def build_channel(receiver: Receiver, secret: SecretLookup) -> Channel:
    if receiver.webhook is not None:
        hook = receiver.webhook
        return WebhookChannel(hook.url, secret=secret(hook.secret_env).encode(), timeout=hook.timeout)
    if receiver.teams is not None:
        teams = receiver.teams
        try:  # checked here, where the secret URL is first read, so it never reaches a traceback
            url = check_receiver_url(secret(teams.url_env), allow_plain_http=teams.allow_plain_http)
        except ValueError as error:
            raise SettingsError(f"receiver {receiver.name}: the Teams URL in {teams.url_env} {error}") from None
        return TeamsChannel(url, max_bytes=teams.max_bytes, timeout=teams.timeout)
    if receiver.email is not None:
        mail = receiver.email
        return EmailChannel(
            host=mail.host,
            port=mail.port,
            sender=mail.sender,
            to=list(mail.to),
            starttls=mail.starttls,
            username=mail.username,
            password=secret(mail.password_env) if mail.password_env else None,
            ca_file=mail.ca_file,
            timeout=mail.timeout,
            implicit_tls=mail.tls_from_start,
        )
    return ConsoleChannel()


def build_channels(config: RoutingConfig, secret: SecretLookup) -> dict[str, Channel]:
    """Every receiver's channel, by receiver name; a missing secret fails here, at start."""
    return {receiver.name: build_channel(receiver, secret) for receiver in config.receivers}


__all__ = ["Batch", "Channel", "SecretLookup", "SendResult", "build_channel", "build_channels"]
