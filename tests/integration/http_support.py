"""`casewatch serve` as production starts it, and a small client for its API (stdlib only)."""

import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import yaml
from prometheus_client.parser import text_string_to_metric_families

from casewatch.config_file import read_config_file
from casewatch.local_kafka import free_port
from tests.integration.support import Deployment, wait_until

TOKEN = "test-token-0123456789abcdef-0123456789"  # from CASEWATCH_API_TOKENS: roles ingest and metrics
# The identities every server started here knows besides (the file's access.tokens), by name.
IDENTITIES: dict[str, dict[str, Any]] = {
    "feed.ingest": {"roles": ["ingest"]},
    "prometheus": {"roles": ["metrics"]},
    "east.viewer": {"roles": ["viewer"], "teams": ["CIN East"]},
    "east.manager": {"roles": ["manager"], "teams": ["CIN East"]},
    "west.manager": {"roles": ["manager"], "teams": ["CIN West"]},
    "dpo.officer": {"roles": ["admin"]},
}
TOKENS = {name: f"{name}-token-0123456789abcdef-0123456789" for name in IDENTITIES}
ADMIN = TOKENS["dpo.officer"]


def access_env(deployment: Deployment, access: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The deployment's configuration file with the test identities' `access:` section added
    (and `access`'s keys), and the variables holding their tokens."""
    config = deployment.settings.config_path
    data = read_config_file(config) if config is not None else {}
    variables = {name: f"CASEWATCH_TEST_TOKEN_{n}" for n, name in enumerate(IDENTITIES)}
    tokens = [{"name": name, "token_env": variables[name], **grant} for name, grant in IDENTITIES.items()]
    data["access"] = {**data.get("access", {}), "tokens": tokens, **(access or {})}
    path = deployment.folder / "serve-config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return {"CASEWATCH_CONFIG": str(path), **{variables[name]: TOKENS[name] for name in IDENTITIES}}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    set_cookies: tuple[str, ...] = ()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Api:
    """A running server's address, and requests to it with the test token unless told otherwise."""

    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = TOKEN,
        source: str | None = None,
    ) -> Answer:
        """One request on its own connection; an iterable body is sent chunked, declaring no length."""
        sent = dict(headers or {})
        if token is not None:
            sent.setdefault("Authorization", f"Bearer {token}")
        bind = None if source is None else (source, 0)  # another loopback address, e.g. a proxy's 127.0.0.2
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=bind)
        try:
            chunked = body is not None and not isinstance(body, bytes)
            connection.request(method, path, body=body, headers=sent, encode_chunked=chunked)
            response = connection.getresponse()
            cookies = tuple(response.msg.get_all("Set-Cookie") or ())
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(), cookies)
        finally:
            connection.close()

    def sign_in(self, token: str = "", *, user: str = "", password: str = "") -> "PageSession":
        """Sign in on the page with `token` (or `user` and `password`) as a browser does: the
        form's CSRF token, then the cookie."""
        form = self.request("GET", "/ui/sign-in", token=None)
        pre = _cookie(form, "casewatch_signin")
        fields = {"user": user, "password": password} if user else {"token": token}
        body = urlencode({"csrf": csrf_of(form.body), **fields}).encode()
        answer = self.request("POST", "/ui/sign-in", body, token=None, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"casewatch_signin={pre}"})  # fmt: skip
        cookie = _cookie(answer, "casewatch_session") if answer.status == 303 else ""
        session = PageSession(self, cookie, "", answer.status)
        if cookie:
            session = replace(session, csrf=csrf_of(session.get("/ui/worklist").body))
        return session

    def post_events(self, body: bytes, content_type: str = "application/json", **options: Any) -> Answer:
        headers = {"Content-Type": content_type, **options.pop("headers", {})}
        return self.request("POST", "/v1/events", body, headers=headers, **options)

    def metric(self, name: str, **labels: str) -> float:
        """The value of the sample `name` with exactly `labels` (metrics need the token too)."""
        answer = self.request("GET", "/metrics")
        assert answer.status == 200, answer
        values = [
            sample.value
            for family in text_string_to_metric_families(answer.body.decode())
            for sample in family.samples
            if sample.name == name and sample.labels == labels
        ]
        return values[0] if values else 0.0


@dataclass(frozen=True)
class PageSession:
    """A sign-in on the page: its cookie, a CSRF token of its forms, and how the sign-in was answered."""

    api: Api
    cookie: str
    csrf: str
    signed_in_status: int

    def get(self, path: str) -> Answer:
        return self.api.request("GET", path, token=None, headers={"Cookie": f"casewatch_session={self.cookie}"})

    def post(self, path: str, form: Mapping[str, str], *, csrf: bool = True) -> Answer:
        body = urlencode({**form, **({"csrf": self.csrf} if csrf else {})}).encode()
        headers = {"Cookie": f"casewatch_session={self.cookie}", "Content-Type": "application/x-www-form-urlencoded"}
        return self.api.request("POST", path, body, token=None, headers=headers)


def csrf_of(html: bytes) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(rb'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html[:2000]
    return found[1].decode()


def _cookie(answer: Answer, name: str) -> str:
    for header in answer.set_cookies:
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {answer.set_cookies}")


@contextmanager
def running_server(
    deployment: Deployment,
    *,
    env: Mapping[str, str] | None = None,
    log_name: str = "serve.log",
    access: Mapping[str, Any] | None = None,
) -> Iterator[Api]:
    """`casewatch serve` for `deployment` on a free port of 127.0.0.1, until the block ends;
    it knows the IDENTITIES' tokens, TOKEN, and what `access` adds to the file's `access:`."""
    api = Api("127.0.0.1", free_port())
    log = deployment.folder / log_name
    settings = {
        **access_env(deployment, access),
        "CASEWATCH_API_TOKENS": TOKEN,
        "CASEWATCH_HTTP_HOST": api.host,
        "CASEWATCH_HTTP_PORT": str(api.port),
        **(env or {}),
    }
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "casewatch", "serve"],
            env={**deployment.env, **settings},
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def describe() -> str:
        return f"server log {log}:\n" + log.read_text(errors="replace")[-4000:]

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"`casewatch serve` exited with {process.returncode}\n{describe()}")
        return api.request("GET", "/healthz", token=None).status == 200

    try:
        wait_until(ready, 60, describe)
        yield api
    finally:
        process.terminate()  # SIGTERM: the server finishes in-flight batches and stops its producer
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
