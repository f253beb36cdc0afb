"""Users of the browser tests: signed up through the API, the session kept by the browser."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from playwright.sync_api import BrowserContext

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Account:
    email: str
    password: str = PASSWORD


def fresh_account() -> Account:
    return Account(email=f"browser-{uuid.uuid4().hex[:10]}@example.com")


def sign_up_by_api(context: BrowserContext) -> Account:
    """Sign up and log in with the context's own request client, so its pages share the
    session cookie."""
    account = fresh_account()
    body = {"email": account.email, "password": account.password}
    for path in ("/api/auth/signup", "/api/auth/login"):
        response = context.request.post(path, data=body)
        assert response.ok, f"{path}: {response.status} {response.text()}"
    return account
